/* Positions of the live target, for the replay target (see
 * live-target.h): silent runs to a position, the VCPU at each, and going
 * back to a checkpoint's mark. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "debug/live-target.h"
#include "debug/live-target-state.h"

/* Waits for the silent run's stop or end; a readable @interrupt_fd asks
 * for the stop now. */
static void wait_silent(struct live_target *lt, int interrupt_fd)
{
	struct epoll_event ev;
	bool watching = interrupt_fd > 0 && !live_target_watch_fd(lt->epoll_fd,
								  interrupt_fd);
	int r;

	for (;;) {
		r = epoll_wait(lt->epoll_fd, &ev, 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 1 && watching && ev.data.fd == interrupt_fd) {
			atomic_store(&lt->interrupt, true);
			epoll_ctl(lt->epoll_fd, EPOLL_CTL_DEL, interrupt_fd, NULL);
			watching = false;
			continue;
		}
		break;
	}
	if (watching)
		epoll_ctl(lt->epoll_fd, EPOLL_CTL_DEL, interrupt_fd, NULL);
}

int live_target_run_to(struct live_target *lt, uint64_t pos, bool scan,
		       bool (*until)(void *arg), void *arg, int interrupt_fd)
{
	const struct debug_resume cont = { .kind = DEBUG_CONTINUE, .thread = -1 };
	char err[256];
	int r;

	pthread_mutex_lock(&lt->lock);
	lt->silent = true;
	lt->silent_to = pos;
	lt->scan = scan;
	lt->have_hit = lt->interrupted = false;
	lt->until = until;
	lt->until_arg = arg;
	r = live_target_go(lt, &cont, err, sizeof(err));
	if (r < 0)
		return r;
	wait_silent(lt, interrupt_fd);
	pthread_mutex_lock(&lt->lock);
	r = !lt->have_stop ? 1 : lt->interrupted ? -EINTR : 0;
	lt->silent = false;
	lt->until = NULL;
	pthread_mutex_unlock(&lt->lock);
	return r;
}

bool live_target_last_hit(struct live_target *lt, struct debug_stop *s,
			  uint64_t *pos)
{
	if (!lt->have_hit)
		return false;
	*s = lt->hit;
	*pos = lt->hit_pos;
	return true;
}

void live_target_set_stop(struct live_target *lt, const struct debug_stop *s)
{
	pthread_mutex_lock(&lt->lock);
	lt->stop = *s;
	pthread_mutex_unlock(&lt->lock);
}

/* A counter the VCPU threads update, read under the lock. */
static uint64_t read_locked(struct live_target *lt, const uint64_t *field)
{
	uint64_t v;

	pthread_mutex_lock(&lt->lock);
	v = *field;
	pthread_mutex_unlock(&lt->lock);
	return v;
}

uint64_t live_target_position(struct live_target *lt)
{
	return read_locked(lt, &lt->instructions);
}

int live_target_vcpu_at(struct live_target *lt, uint64_t pos)
{
	int v = -1;

	pthread_mutex_lock(&lt->lock);
	if (pos < lt->history_len)
		v = lt->history[pos];
	pthread_mutex_unlock(&lt->lock);
	return v;
}

void live_target_set_position_hook(struct live_target *lt,
				   uint64_t (*fn)(void *arg, uint64_t pos,
						  unsigned vcpu),
				   void *arg)
{
	pthread_mutex_lock(&lt->lock);
	lt->position_hook = fn;
	lt->hook_arg = arg;
	lt->hook_at = 0;
	pthread_mutex_unlock(&lt->lock);
}

struct live_mark *live_target_mark(struct live_target *lt)
{
	struct live_mark *m = malloc(sizeof(*m) + lt->nr_vcpus *
				     sizeof(m->eintr[0]));

	if (!m)
		return NULL;
	pthread_mutex_lock(&lt->lock);
	m->instructions = lt->instructions;
	m->last_ran = lt->last_ran;
	m->nr_vcpus = lt->nr_vcpus;
	memcpy(m->eintr, lt->eintr, lt->nr_vcpus * sizeof(m->eintr[0]));
	pthread_mutex_unlock(&lt->lock);
	return m;
}

uint64_t live_target_stopped_ns(struct live_target *lt)
{
	return read_locked(lt, &lt->stopped_ns);
}

uint64_t live_mark_position(const struct live_mark *m)
{
	return m->instructions;
}

void live_target_rewind(struct live_target *lt, const struct live_mark *m)
{
	pthread_mutex_lock(&lt->lock);
	lt->started = lt->running = lt->released = lt->have_stop = false;
	lt->silent = lt->have_hit = false;
	lt->resume_mid = m != NULL;
	lt->instructions = m ? m->instructions : 0;
	lt->last_ran = m ? m->last_ran : -1;
	/* What the instruction before did was looked at when the mark was
	 * taken: the exit it left in kvm_run is gone with the later run. */
	lt->last_checked = m != NULL;
	lt->break_reported = -1;
	if (m)
		memcpy(lt->eintr, m->eintr, lt->nr_vcpus * sizeof(lt->eintr[0]));
	else
		memset(lt->eintr, 0, lt->nr_vcpus * sizeof(lt->eintr[0]));
	/* The debug registers and the watched values are read again. */
	memset(lt->watch_gen, 0, lt->nr_vcpus * sizeof(uint64_t));
	lt->values_gen = 0;
	lt->points->gen++;
	lt->hook_at = 0;
	atomic_store(&lt->interrupt, false);
	pthread_mutex_unlock(&lt->lock);
}
