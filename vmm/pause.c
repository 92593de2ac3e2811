/* RCU publication of pause requests. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vmm/pause.h"

static pthread_key_t rcu_key;
static pthread_once_t rcu_once_flag = PTHREAD_ONCE_INIT;
static __thread bool rcu_registered;

static void rcu_thread_exit(void *unused)
{
	(void)unused;
	urcu_memb_unregister_thread();
}

static void rcu_once(void)
{
	pthread_key_create(&rcu_key, rcu_thread_exit);
}

void pause_rcu_thread_init(void)
{
	if (rcu_registered)
		return;
	pthread_once(&rcu_once_flag, rcu_once);
	urcu_memb_register_thread();
	/* A non-NULL value makes the key's destructor run at thread exit. */
	pthread_setspecific(rcu_key, (void *)1);
	rcu_registered = true;
}

static void free_list(struct pause_req *r)
{
	while (r) {
		struct pause_req *next = r->next;
		free(r);
		r = next;
	}
}

/* `old` is unpublished: no reader that starts now can find it. */
static void retire(struct pause_slot *slot, struct pause_req *old)
{
	struct pause_req *list;

	old->next = __atomic_load_n(&slot->retired, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&slot->retired, &old->next, old, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	if (__atomic_add_fetch(&slot->nretired, 1, __ATOMIC_RELAXED) %
	    PAUSE_RETIRE_BATCH)
		return;
	/* Only whole-list takes, never single pops: no ABA. */
	list = __atomic_exchange_n(&slot->retired, NULL, __ATOMIC_ACQUIRE);
	urcu_memb_synchronize_rcu();  /* readers that found them are done */
	free_list(list);
}

int pause_publish(struct pause_slot *slot, uint64_t seq, uint64_t data)
{
	struct pause_req *new = malloc(sizeof(*new)), *old;

	if (!new)
		return -ENOMEM;
	new->req_seq = seq;
	new->data = data;
	pause_rcu_thread_init();
	urcu_memb_read_lock();
	/* rcu_dereference() and rcu_cmpxchg_pointer(), spelled with compiler
	 * atomics: the same instructions on x86 (liburcu uses inline asm), and
	 * visible to ThreadSanitizer. */
	old = __atomic_load_n(&slot->req, __ATOMIC_ACQUIRE);
	do {
		if (old && old->req_seq >= seq) {
			/* Overtaken by a newer request: never visible. */
			urcu_memb_read_unlock();
			free(new);
			return 0;
		}
	} while (!__atomic_compare_exchange_n(&slot->req, &old, new, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE));
	urcu_memb_read_unlock();
	if (old)
		retire(slot, old);
	return 0;
}

void pause_slot_free(struct pause_slot *slot)
{
	free(slot->req);
	free_list(slot->retired);
	slot->req = slot->retired = NULL;
}
