/* crosvm plugin programs (tests/plugins/, built as $VCPRR_BUILD/plugins/NAME
 * against libcrosvm_plugin): each runs to exit status 0 plainly, then under
 * VCPRR_RECORD, and its recording replays the same without the program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "tests/helpers/testutil.h"
#include "traces/trace.h"

/* Runs plugin `name` plainly and recorded (both must exit 0), then replays
 * the recording: `replay_status` is what vcprr replay must exit with, and
 * `says` what it must print. */
static void run_and_replay(const char *name, int replay_status, const char *says)
{
	char trace[] = "/tmp/vcprr-plugin-XXXXXX";
	char *out = NULL;
	int fd, st;

	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "timeout 60 \"$(dirname $V)/plugins/%s\"", name);
	if (st)
		fprintf(stderr, "%s (plain) exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, 0);
	free(out);

	fd = mkstemp(trace);
	assert_true(fd >= 0);
	close(fd);
	st = vcprr_sh(&out, "VCPRR_RECORD=%s timeout 60 \"$(dirname $V)/plugins/%s\"",
		      trace, name);
	if (st)
		fprintf(stderr, "%s (recorded) exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, 0);
	free(out);

	st = vcprr_sh(&out, "$V replay --timeout 60s %s", trace);
	if (st != replay_status)
		fprintf(stderr, "replay of %s exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, replay_status);
	assert_non_null(strstr(out, says));
	free(out);
	unlink(trace);
}

static void run_plugin(const char *name)
{
	run_and_replay(name, 0, ": same (");
}

static void test_adder(void **state) { run_plugin("adder"); }
static void test_pause3(void **state) { run_plugin("pause3"); }
static void test_vmcalls(void **state) { run_plugin("vmcalls"); }
static void test_irqs(void **state) { run_plugin("irqs"); }

/* An interrupt raised while the guest ran cannot be placed again: replay
 * says so at once (126, cannot replay) rather than spin. */
static void test_irq_running(void **state)
{
	run_and_replay("irq-running", 126, "cannot replay: the plugin signalled "
		       "an irqfd while a VCPU was running");
}

/* Copies trace @in to @out, letting @edit change each event (and its
 * payload, a private copy). */
static void rewrite(const char *in, const char *out,
		    void (*edit)(struct trace_event *ev, uint8_t *payload))
{
	static uint8_t copy[TRACE_MAX_PAYLOAD];
	struct trace_reader *r;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	const uint8_t *payload;
	char err[512];

	r = trace_reader_open(in, err, sizeof(err));
	assert_non_null(r);
	w = trace_writer_open(out, trace_reader_header(r), NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &payload) == 1 && ev.type != TEV_VM_END) {
		memcpy(copy, payload, ev.payload_len);
		edit(&ev, copy);
		assert_int_equal(trace_emit_timed(p, &ev, copy), 0);
	}
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
}

/* Any ioctl: a trace must not make replay map memory of its choosing. */
static void edit_request(struct trace_event *ev, uint8_t *payload)
{
	if (ev->type == TEV_VM_IOCTL && ev->a0 == KVM_SET_GSI_ROUTING)
		ev->a0 = KVM_SET_USER_MEMORY_REGION;
}

/* A routing table that claims more entries than its payload holds. */
static void edit_count(struct trace_event *ev, uint8_t *payload)
{
	uint32_t nr = 0x10000000;

	if (ev->type == TEV_VM_IOCTL && ev->a0 == KVM_SET_GSI_ROUTING)
		memcpy(payload + offsetof(struct kvm_irq_routing, nr), &nr, 4);
}

/* A setting too large for an event is logged by its size alone. */
static void edit_size(struct trace_event *ev, uint8_t *payload)
{
	if (ev->type == TEV_VCPU_IOCTL && ev->a0 == KVM_SET_CPUID2) {
		ev->a2 = 100000;
		ev->payload_len = 0;
	}
}

/* Replay hands KVM only the settings a recording logs, of their exact
 * size: a trace is untrusted input. */
static void test_hostile_settings_refused(void **state)
{
	static const struct {
		void (*edit)(struct trace_event *, uint8_t *);
		const char *says;
	} cases[] = {
		{ edit_request, "is not a setting vcprr records: the trace is corrupt" },
		{ edit_count, "and 104 bytes is not a setting vcprr records" },
		{ edit_size, "too large to record (at most 4096)" },
	};
	char trace[] = "/tmp/vcprr-plugin-XXXXXX", bad[64], *out;
	int fd;

	SKIP_WITHOUT_KVM();
	fd = mkstemp(trace);
	assert_true(fd >= 0);
	close(fd);
	snprintf(bad, sizeof(bad), "%s.bad", trace);
	assert_int_equal(vcprr_sh(NULL, "VCPRR_RECORD=%s \"$(dirname $V)/plugins/"
				  "vmcalls\"", trace), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rewrite(trace, bad, cases[i].edit);
		assert_int_equal(vcprr_sh(&out, "$V replay %s", bad), 126);
		if (!strstr(out, cases[i].says))
			fail_msg("case %zu: expected '%s' in:\n%s", i, cases[i].says, out);
		free(out);
	}
	unlink(bad);
	unlink(trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adder),
		cmocka_unit_test(test_pause3),
		cmocka_unit_test(test_vmcalls),
		cmocka_unit_test(test_irqs),
		cmocka_unit_test(test_irq_running),
		cmocka_unit_test(test_hostile_settings_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
