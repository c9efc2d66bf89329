package loadgen

import (
	"bytes"
	"encoding/binary"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/results"
)

// Payload layout: bytes 0-3 are the connection id and bytes 4-11 the
// sequence number (little-endian), the rest a pattern derived from both,
// so a reply from another connection, a reordered one or a corrupted byte
// can't match. Messages shorter than 12 bytes carry a prefix of that.
const headerLen = 12

// fillPayload writes the bytes at offsets off..off+len(dst) of message seq
// of connection id.
func fillPayload(dst []byte, id uint32, seq uint64, off int) {
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint32(hdr[0:], id)
	binary.LittleEndian.PutUint64(hdr[4:], seq)
	for len(dst) > 0 && off < headerLen {
		dst[0] = hdr[off]
		dst, off = dst[1:], off+1
	}
	key := uint64(id)<<40 ^ seq*0x9E3779B97F4A7C15
	for len(dst) > 0 {
		block := splitmix(key ^ uint64(off>>3))
		if off&7 == 0 && len(dst) >= 8 {
			binary.LittleEndian.PutUint64(dst, block)
			dst, off = dst[8:], off+8
			continue
		}
		for i := off & 7; i < 8 && len(dst) > 0; i++ {
			dst[0] = byte(block >> (8 * i))
			dst, off = dst[1:], off+1
		}
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// flight is a message sent and not yet fully echoed.
type flight struct {
	seq      uint64
	size     int
	intended int64 // when it was due (rate mode) or sent (other modes), ns since the run's base
	sent     int64 // when it was handed to the socket
}

// recorder holds one worker's measurements; only its worker touches it
// (under the worker's lock for live progress, taken once per batch).
type recorder struct {
	lat, latRaw  *hdrhistogram.Histogram
	late         *hdrhistogram.Histogram // rate mode: actual send minus when it could go (due, or a reply made room), of the messages sent in the window
	errors       uint64
	errorKinds   map[string]uint64
	bytes        uint64                  // verified echoed bytes that arrived in the window
	sent         uint64                  // messages sent that were due in the window
	intervalRepl uint64                  // replies since the last interval, warmup included
	iv           *hdrhistogram.Histogram // their latency
	expected     []byte                  // scratch: what the reply being verified should hold
}

func newRecorder(uncorrected bool) *recorder {
	r := &recorder{lat: results.NewHistogram(), iv: results.NewHistogram(), errorKinds: map[string]uint64{}}
	if uncorrected {
		r.latRaw, r.late = results.NewHistogram(), results.NewHistogram()
	}
	return r
}

func (r *recorder) fail(kind string) {
	r.errors++
	r.errorKinds[kind]++
}

// plan is what every connection of a run shares, read-only.
type plan struct {
	mode     Mode
	sizeMin  int
	sizeSpan int // sizeMax - sizeMin + 1
	window   int
	period   int64 // rate mode: ns between one connection's messages
	// quantum (rate mode) is the least time a worker sleeps between two
	// timed wake-ups: what falls due meanwhile goes out together at the
	// next one, late by less than quantum (the lateness histogram shows
	// by how much), so the generator's cost follows the rate instead of
	// one wake-up per message.
	quantum   int64
	measureAt int64 // start of the measured window, ns since base
	endAt     int64 // end of the run, ns since base
}

func (p *plan) size(id uint32, seq uint64) int {
	if p.sizeSpan == 1 {
		return p.sizeMin
	}
	return p.sizeMin + int(splitmix(uint64(id)<<32^seq)%uint64(p.sizeSpan))
}

func (p *plan) inWindow(t int64) bool { return t >= p.measureAt && t < p.endAt }

// wakeAt is when a worker whose next scheduled send is at next should
// wake, now: on time, but not sooner than a quantum from now.
func (p *plan) wakeAt(next, now int64) int64 { return min(p.endAt, max(next, now+p.quantum)) }

// conn is the protocol state of one busy connection: what to send next,
// what is in flight, and how much of the oldest reply has been verified.
// It does no IO; the engine feeds it bytes and takes bytes from it.
type conn struct {
	id   uint32
	plan *plan

	nextSeq uint64
	phase   int64 // rate mode: when message 0 is due
	out     []byte
	outOff  int

	ring    []flight // in flight, oldest at head
	head, n int
	freedAt int64 // when the window last had room made by a reply (rate mode's lateness starts there at the latest)
	rxOff   int   // bytes of the oldest reply verified so far
	rxBad   bool  // the oldest reply already mismatched

	replies uint64 // verified replies in the window
	dead    bool
	diedAt  int64 // when the server closed or reset it mid-run (0: it did not)
}

func newConn(id uint32, p *plan, phase int64) *conn {
	return &conn{id: id, plan: p, phase: phase, ring: make([]flight, p.window)}
}

// due is how many messages are due by now (rate mode), sent or not.
func (c *conn) due(now int64) uint64 {
	if now < c.phase {
		return 0
	}
	return uint64((now-c.phase)/c.plan.period) + 1
}

// backlog is how many messages are due by now but not yet sent.
func (c *conn) backlog(now int64) int64 {
	return int64(c.due(now)) - int64(c.nextSeq)
}

// nextDueAt is when the next unsent message is due (rate mode).
func (c *conn) nextDueAt() int64 { return c.phase + int64(c.nextSeq)*c.plan.period }

// fill queues every message that may be sent now and returns the bytes
// still to be written.
func (c *conn) fill(now int64, rec *recorder) []byte {
	if c.outOff == len(c.out) {
		c.out, c.outOff = c.out[:0], 0
	}
	for c.n < len(c.ring) && now < c.plan.endAt {
		intended := now
		if c.plan.mode == Rate {
			intended = c.nextDueAt()
			if intended > now {
				break
			}
		}
		size := c.plan.size(c.id, c.nextSeq)
		start := len(c.out)
		c.out = slices.Grow(c.out, size)[:start+size]
		fillPayload(c.out[start:], c.id, c.nextSeq, 0)
		c.ring[(c.head+c.n)%len(c.ring)] = flight{seq: c.nextSeq, size: size, intended: intended, sent: now}
		c.n++
		c.nextSeq++
		if c.plan.inWindow(intended) {
			rec.sent++
		}
		if rec.late != nil && c.plan.inWindow(now) {
			// The generator's own lateness: a message held back by a full
			// window (the server had not answered) was ready only when a
			// reply made room.
			results.Record(rec.late, now-max(intended, c.freedAt))
		}
	}
	return c.out[c.outOff:]
}

// wrote records that n bytes of fill's result went out.
func (c *conn) wrote(n int) { c.outOff += n }

// pendingOut reports whether queued bytes are still unwritten.
func (c *conn) pendingOut() bool { return c.outOff < len(c.out) }

// received verifies p against the messages in flight, in order, and
// records each completed reply at time now.
func (c *conn) received(p []byte, now int64, rec *recorder) {
	for len(p) > 0 {
		if c.n == 0 {
			rec.fail("unexpected bytes")
			return
		}
		f := &c.ring[c.head]
		k := min(f.size-c.rxOff, len(p))
		if cap(rec.expected) < k {
			rec.expected = make([]byte, max(k, 64<<10))
		}
		exp := rec.expected[:k]
		fillPayload(exp, c.id, f.seq, c.rxOff)
		if !bytes.Equal(exp, p[:k]) {
			c.rxBad = true
		}
		c.rxOff += k
		p = p[k:]
		if c.rxOff < f.size {
			continue
		}
		if !c.rxBad && now < c.plan.endAt {
			rec.intervalRepl++
			results.Record(rec.iv, now-f.intended)
		}
		// Throughput counts the replies that arrived in the window (an
		// overloaded server carries requests due long before it); latency
		// is of the requests due in the window.
		switch {
		case c.rxBad:
			rec.fail("reply mismatch")
		case c.plan.inWindow(now):
			c.replies++
			rec.bytes += uint64(f.size)
		}
		if !c.rxBad && c.plan.inWindow(f.intended) && now < c.plan.endAt {
			results.Record(rec.lat, now-f.intended)
			if rec.latRaw != nil {
				results.Record(rec.latRaw, now-f.sent)
			}
		}
		c.head = (c.head + 1) % len(c.ring)
		c.n--
		c.freedAt = now
		c.rxOff, c.rxBad = 0, false
	}
}

// lose marks c, one of w's connections, lost (the server closed or reset
// it), counting it against the server when that happened mid-run; false
// when it was lost already. The engines' one rule of it.
func (s *session) lose(w *worker, c *conn) bool {
	if c.dead {
		return false
	}
	c.dead = true
	if now := s.now(); now < s.plan.endAt && !s.stopped.Load() {
		w.closedByPeer++
		c.diedAt = now
	}
	return true
}

// oldest is how long the oldest request in flight has waited at now
// (0: none in flight).
func (c *conn) oldest(now int64) int64 {
	if c.n == 0 || c.dead {
		return 0
	}
	return max(0, now-c.ring[c.head].sent)
}

// unfinished counts messages due in the window whose reply never came.
// h, when set, gets each one's age at end (from when it was due): a
// lower bound of its latency. A backlog of unsent messages is recorded
// in at most unsentGroups groups, each at its youngest age, so a huge
// backlog costs no more than a small one and every value stays a lower
// bound.
func (c *conn) unfinished(end int64, h *hdrhistogram.Histogram) int64 {
	var u int64
	for i := range c.n {
		if f := c.ring[(c.head+i)%len(c.ring)]; c.plan.inWindow(f.intended) {
			u++
			if h != nil {
				results.Record(h, end-f.intended)
			}
		}
	}
	if c.plan.mode != Rate {
		return u
	}
	// Unsent: sequence numbers nextSeq up to due(end-1), those due in the window.
	first, last := c.nextSeq, c.due(end-1)
	if at := c.plan.measureAt - c.phase; at > 0 {
		first = max(first, uint64((at+c.plan.period-1)/c.plan.period))
	}
	if last <= first {
		return u
	}
	u += int64(last - first)
	if h != nil {
		step := max(1, (last-first+unsentGroups-1)/unsentGroups)
		for s := first; s < last; s += step {
			n := min(step, last-s)
			youngest := c.phase + int64(s+n-1)*c.plan.period
			results.RecordN(h, end-youngest, int64(n))
		}
	}
	return u
}

// unsentGroups bounds the records a connection's unsent backlog costs.
const unsentGroups = 256
