/* A UDP DNS server that answers every query after exactly DELAY microseconds, for benchmarks.
 *
 *   delay_server serve PORT DELAY_US ADDR [ADDR...]   answer on each ADDR:PORT; print "ready" once bound
 *   delay_server probe ADDR PORT COUNT                 COUNT sequential A queries; print the median RTT
 *
 * serve: each query gets a reply with one A record (192.0.2.1, TTL 30) for the asked name,
 * NOERROR and no records for any other type. A reply is due DELAY after the kernel received
 * the query (SO_TIMESTAMPNS, so the server's own wake-up does not count); an absolute timerfd
 * wakes the server SPIN before that and it busy-polls the rest, so the reply leaves within a
 * microsecond or two of its due time (a sleeping CPU takes tens of microseconds to wake).
 * On SIGTERM it prints how many replies it sent and the median and maximum time it held them.
 *
 * probe: the ground truth a prober should report: sequential queries on a connected socket,
 * from just before send() to the kernel's receive stamp of the reply (busy-polled), the
 * median over COUNT queries: DELAY plus the loopback round trip, nothing of the client.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 1024
#define QUEUE 65536
#define MAX_HELD 2000000
#define SPIN_NS 150000

struct pending {
	int64_t due_ns;
	int64_t received_ns;
	int fd;
	struct sockaddr_in peer;
	uint16_t len;
	unsigned char wire[512];
};

static struct pending queue[QUEUE];
static size_t head, tail; /* FIFO: every reply waits the same delay, so due times are in order */
static int64_t *held;
static size_t held_count;
static volatile sig_atomic_t stopping;

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Read one datagram and when the kernel received it (CLOCK_MONOTONIC), or -1. */
static ssize_t receive_stamped(int fd, void *buf, size_t size, struct sockaddr_in *peer, int64_t *at)
{
	char control[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr msg = {.msg_name = peer,
			     .msg_namelen = peer ? sizeof *peer : 0,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof control};
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return n;
	int64_t mono = now_ns(), real = clock_ns(CLOCK_REALTIME);
	*at = mono;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			int64_t stamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
			if (stamp <= real && real - stamp < 1000000000)
				*at = mono - (real - stamp);
		}
	}
	return n;
}

static void stamp_receives(int fd)
{
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Turn the query in place into its reply; return the reply's length, or 0 to drop it. */
static size_t make_reply(unsigned char *msg, size_t len)
{
	size_t at = 12;
	if (len < 12 || (msg[2] & 0x80))
		return 0;
	while (at < len && msg[at] != 0) {
		if (msg[at] & 0xC0)
			return 0;
		at += msg[at] + 1;
	}
	if (at + 5 > len)
		return 0;
	at += 1;
	uint16_t qtype = (uint16_t)(msg[at] << 8 | msg[at + 1]);
	at += 4; /* the question ends here: drop any EDNS or other record after it */
	msg[2] = (unsigned char)(0x80 | (msg[2] & 0x79)); /* QR, keep opcode and RD */
	msg[3] = 0x80;                                    /* RA, NOERROR */
	msg[4] = 0, msg[5] = 1;                           /* QDCOUNT */
	msg[6] = 0, msg[7] = qtype == 1 ? 1 : 0;          /* ANCOUNT */
	memset(msg + 8, 0, 4);                            /* NSCOUNT, ARCOUNT */
	if (qtype != 1)
		return at;
	static const unsigned char answer[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1};
	if (at + sizeof answer > 512)
		return 0;
	memcpy(msg + at, answer, sizeof answer);
	return at + sizeof answer;
}

static void arm(int timer)
{
	struct itimerspec spec = {0};
	if (head != tail) {
		int64_t due = queue[head % QUEUE].due_ns - SPIN_NS;
		spec.it_value.tv_sec = due / 1000000000;
		spec.it_value.tv_nsec = due % 1000000000;
	}
	timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void send_ready(int timer);

static void send_due(int timer)
{
	uint64_t expirations;
	if (read(timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		perror("read timerfd");
	send_ready(timer);
}

/* Send every reply that is due now; leave the timer armed for the next one. */
static void send_ready(int timer)
{
	while (head != tail && queue[head % QUEUE].due_ns <= now_ns()) {
		struct pending *p = &queue[head % QUEUE];
		if (held_count < MAX_HELD) /* until sendto(), which on loopback also delivers the reply */
			held[held_count++] = now_ns() - p->received_ns;
		sendto(p->fd, p->wire, p->len, 0, (struct sockaddr *)&p->peer, sizeof p->peer);
		head++;
	}
	arm(timer);
}

static void receive(int fd, int64_t delay_ns, int timer)
{
	for (;;) {
		struct pending *p = &queue[tail % QUEUE];
		int64_t received;
		ssize_t n = receive_stamped(fd, p->wire, sizeof p->wire, &p->peer, &received);
		if (n < 0)
			return;
		if (tail - head >= QUEUE)
			continue; /* full: drop, as an overloaded server would */
		size_t len = make_reply(p->wire, (size_t)n);
		if (len == 0)
			continue;
		p->received_ns = received;
		p->due_ns = p->received_ns + delay_ns;
		p->fd = fd;
		p->len = (uint16_t)len;
		if (tail++ == head)
			arm(timer);
	}
}

static int compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int serve(int port, int64_t delay_us, int count, char **addresses)
{
	int poll = epoll_create1(0);
	int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct epoll_event event = {.events = EPOLLIN, .data.fd = timer};
	epoll_ctl(poll, EPOLL_CTL_ADD, timer, &event);
	for (int i = 0; i < count && i < MAX_SOCKETS; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int size = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
		stamp_receives(fd);
		if (inet_pton(AF_INET, addresses[i], &addr.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
			fprintf(stderr, "cannot bind %s:%d: %s\n", addresses[i], port, strerror(errno));
			return 2;
		}
		event.data.fd = fd;
		epoll_ctl(poll, EPOLL_CTL_ADD, fd, &event);
	}
	prctl(PR_SET_TIMERSLACK, 1UL); /* the default 50 us of slack would add itself to every reply */
	held = malloc(sizeof *held * MAX_HELD);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);
	struct epoll_event events[64];
	while (!stopping) {
		/* Busy-poll while a reply is due within SPIN_NS; sleep on the timer otherwise. */
		int spinning = head != tail && queue[head % QUEUE].due_ns - now_ns() <= SPIN_NS;
		if (spinning)
			send_ready(timer);
		int n = epoll_wait(poll, events, 64, spinning ? 0 : 200);
		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == timer)
				send_due(timer);
			else
				receive(events[i].data.fd, delay_us * 1000, timer);
		}
	}
	qsort(held, held_count, sizeof *held, compare);
	if (held_count)
		printf("replies %zu held_p50_us %.1f held_max_us %.1f\n", held_count,
		       held[held_count / 2] / 1000.0, held[held_count - 1] / 1000.0);
	else
		printf("replies 0\n");
	return 0;
}

static int probe(const char *address, int port, int count)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, address, &addr.sin_addr);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		perror("connect");
		return 2;
	}
	stamp_receives(fd);
	/* id 0, RD; one question: probe.bench. A IN */
	static const unsigned char query[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'p', 'r', 'o', 'b',
					      'e', 5, 'b', 'e', 'n', 'c', 'h', 0, 0, 1, 0, 1};
	unsigned char reply[512];
	int64_t *rtt = malloc(sizeof *rtt * (size_t)count);
	int got = 0;
	for (int i = 0; i < count; i++) {
		int64_t start = now_ns(), stamp = 0, give_up = start + 2000000000;
		if (send(fd, query, sizeof query, 0) < 0)
			continue;
		while (receive_stamped(fd, reply, sizeof reply, NULL, &stamp) < 0 && now_ns() < give_up)
			;
		if (stamp)
			rtt[got++] = stamp - start;
	}
	if (!got) {
		fprintf(stderr, "no replies\n");
		return 1;
	}
	qsort(rtt, (size_t)got, sizeof *rtt, compare);
	printf("replies %d rtt_p50_us %.1f rtt_min_us %.1f\n", got, rtt[got / 2] / 1000.0, rtt[0] / 1000.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), atoll(argv[3]), argc - 4, argv + 4);
	if (argc == 5 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: %s serve PORT DELAY_US ADDR...\n       %s probe ADDR PORT COUNT\n", argv[0],
		argv[0]);
	return 2;
}
