/* The checkpoints of a replay being debugged: where going back restores
 * the VM and the replay to, sorted by position.  Checkpoint 0 is the
 * trace's start (a snapshot of the VM before its start); the others are
 * taken mid-run at stop points (vmm/snapshot.h), automatically at an
 * interval chosen from what they cost, or on request.
 *
 * The interval: going back costs a restore and a forward run from the
 * checkpoint before, so an automatic checkpoint is taken once the replay
 * ran INTERVAL_BUDGET_NS straight on since the last one (measured as it
 * runs: a step's cost varies with the guest's schedule and the host by
 * ten times), never closer than TAKE_SHARE takes' time (taking one stays
 * a small part of running forward).  A stretch already covered is not
 * covered again.  When they hold more than their memory budget, every
 * other automatic one goes and the interval doubles.
 *
 * Owned by the replay target (one thread: the server's, or a VCPU thread
 * at a stop point while the server waits for the stop). */
#ifndef VCPRR_DEBUG_CHECKPOINTS_H
#define VCPRR_DEBUG_CHECKPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTERVAL_BUDGET_NS 30000000ull  /* 30 ms of forward replay */
#define TAKE_SHARE         20           /* taking: at most 1/20 of it */

struct vm_snapshot;
struct replay_mark;
struct live_mark;

struct checkpoint {
	uint64_t pos;               /* steps since the start */
	uint64_t last_seq;          /* the trace event replayed last (0) */
	bool manual;                /* asked for: never thinned out */
	struct vm_snapshot *snap;
	struct replay_mark *mark;
	struct live_mark *live;     /* NULL: the trace's start */
};

struct checkpoints {
	struct checkpoint *v;
	size_t n, cap;
	uint64_t spread;            /* the interval's factor (thinning) */
	uint64_t memory_budget;     /* bytes */
	/* measured */
	uint64_t since_ns;          /* run straight on since the last one */
	uint64_t steps, steps_ns;   /* forward replay per step */
	uint64_t takes, take_ns, take_pages;
	uint64_t restores, restore_ns;
	uint64_t thinned;
};

void checkpoints_init(struct checkpoints *c, uint64_t memory_budget);
/* Frees every checkpoint (their snapshots with vm_snapshot_free). */
void checkpoints_free(struct checkpoints *c);

/* The index of the last checkpoint at or before @pos (0: the start). */
size_t checkpoints_before(const struct checkpoints *c, uint64_t pos);
/* The index of the last one whose replay is before trace event @seq. */
size_t checkpoints_before_event(const struct checkpoints *c, uint64_t seq);
/* Adds @cp in position order (one at the same position is replaced).
 * 0 or -ENOMEM (then @cp is the caller's still). */
int checkpoints_add(struct checkpoints *c, const struct checkpoint *cp);

/* The forward replay time between automatic checkpoints, from what was
 * measured; and in steps, at the mean step's cost. */
uint64_t checkpoints_interval_ns(const struct checkpoints *c);
uint64_t checkpoints_interval(const struct checkpoints *c);
uint64_t checkpoints_step_ns(const struct checkpoints *c);
/* Whether an automatic checkpoint is wanted at @pos, after a step of
 * @step_ns (0: not run straight on, a stop was shown or the run began
 * here): an interval's time past the last one, and not just before the
 * next one (a stretch already covered is not covered again). */
bool checkpoints_want(struct checkpoints *c, uint64_t pos, uint64_t step_ns);
/* Counts a take and a restore. */
void checkpoints_count_take(struct checkpoints *c, uint64_t ns,
			    uint64_t pages);
void checkpoints_count_restore(struct checkpoints *c, uint64_t ns);
/* Within budget with @bytes in use?  If not, every other automatic
 * checkpoint is dropped and the interval doubles: true when it did. */
bool checkpoints_thin(struct checkpoints *c, uint64_t bytes);

#endif
