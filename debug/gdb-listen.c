/* The gdb server's listening socket (see gdb-listen.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "debug/gdb-listen.h"

static int listen_unix(struct gdb_listener *l, const char *path, char *err,
		       size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (!path[0] || strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "unix:%s: expected a socket path of 1 to "
			 "%zu bytes", path, sizeof(a.sun_path) - 1);
		return -1;
	}
	if (access(path, F_OK) == 0) {
		snprintf(err, errlen, "unix:%s: the path exists (remove it, or "
			 "choose another)", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l->fd, 1) < 0) {
		snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
		return -1;
	}
	strcpy(l->unix_path, path);
	snprintf(l->gdb_target, sizeof(l->gdb_target), "%s", path);
	return 0;
}

/* "[HOST:]PORT" into host and port; -1 when malformed. */
static int split_host_port(const char *spec, char *host, size_t hostlen,
			   unsigned *port)
{
	const char *colon = strrchr(spec, ':');
	const char *p = colon ? colon + 1 : spec;
	char *end;
	unsigned long v;

	if (!*p || *p == '-' || *p == '+')
		return -1;
	v = strtoul(p, &end, 10);
	if (*end || v > 65535)
		return -1;
	*port = (unsigned)v;
	if (!colon || colon == spec) {
		snprintf(host, hostlen, "127.0.0.1");
		return 0;
	}
	if ((size_t)(colon - spec) >= hostlen)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	return 0;
}

static int listen_tcp(struct gdb_listener *l, const char *spec, char *err,
		      size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char host[64], port_s[8];
	unsigned port;
	int one = 1, r;

	if (split_host_port(spec, host, sizeof(host), &port)) {
		snprintf(err, errlen, "'%s': expected [HOST:]PORT (PORT 0 to "
			 "65535) or unix:PATH", spec);
		return -1;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	r = getaddrinfo(host, port_s, &hints, &ai);
	if (r) {
		snprintf(err, errlen, "'%s': host %s: %s", spec, host,
			 gai_strerror(r));
		return -1;
	}
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd >= 0)
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->fd < 0 || bind(l->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(l->fd, 1) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&a, &alen) < 0) {
		snprintf(err, errlen, "'%s': %s%s", spec, strerror(errno),
			 errno == EADDRINUSE ? " (another program listens "
			 "there: choose another port, or 0 for a free one)" : "");
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	snprintf(l->gdb_target, sizeof(l->gdb_target), "%s:%u", host,
		 ntohs(a.sin_port));
	return 0;
}

int gdb_listen(struct gdb_listener *l, const char *spec, char *err,
	       size_t errlen)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	r = strncmp(spec, "unix:", 5) ? listen_tcp(l, spec, err, errlen) :
	    listen_unix(l, spec + 5, err, errlen);
	if (r && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	return r;
}

int gdb_accept(struct gdb_listener *l, int quit_fd)
{
	struct pollfd pfd[2] = { { .fd = l->fd, .events = POLLIN },
				 { .fd = quit_fd, .events = POLLIN } };
	int fd, one = 1;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[1].revents) {
			errno = EINTR;
			return -1;
		}
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 || (errno != EINTR && errno != ECONNABORTED))
			break;
	}
	if (fd >= 0 && !l->unix_path[0])  /* packets are small: no Nagle */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

void gdb_listen_close(struct gdb_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->unix_path[0])
		unlink(l->unix_path);
	l->unix_path[0] = '\0';
}
