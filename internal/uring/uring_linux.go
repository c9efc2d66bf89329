// Package uring is a minimal io_uring on golang.org/x/sys/unix alone (no
// cgo): setup, the mmapped submission and completion rings, SQE and CQE
// layouts, submit-and-wait with EINTR retried, and a probe of the
// supported operations. See io_uring(7) and include/uapi/linux/io_uring.h.
//
// A Ring is single-issuer: one goroutine, locked to its OS thread, owns it.
// Memory that the kernel reads or writes for an operation (the buffer of a
// recv, the address of an accept) must stay reachable and unmoved until the
// operation's completion is reaped: Go heap memory does not move, so the
// caller keeps a reference to it (in its connection table) until then.
package uring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System call numbers (the same on amd64 and arm64, and every arch since
// io_uring was added in 5.1).
const (
	sysSetup    = 425
	sysEnter    = 426
	sysRegister = 427
)

// Operation codes (enum io_uring_op).
const (
	OpNop    = 0
	OpAccept = 13
	OpCancel = 14
	OpClose  = 19
	OpRead   = 22
	OpWrite  = 23
	OpSend   = 26
	OpRecv   = 27
)

// Flags and offsets from the uapi header.
const (
	setupCQSize         = 1 << 3 // IORING_SETUP_CQSIZE: cq_entries is given
	featSingleMmap      = 1 << 0 // IORING_FEAT_SINGLE_MMAP: SQ and CQ rings share one mapping
	featNoDrop          = 1 << 1 // IORING_FEAT_NODROP: overflowed completions are kept
	enterGetEvents      = 1 << 0 // IORING_ENTER_GETEVENTS
	offSQRing           = 0      // IORING_OFF_SQ_RING
	offCQRing           = 0x8000000
	offSQEs             = 0x10000000
	registerProbe       = 8      // IORING_REGISTER_PROBE
	registerRingFds     = 20     // IORING_REGISTER_RING_FDS
	enterRegisteredRing = 1 << 4 // IORING_ENTER_REGISTERED_RING
	opSupported         = 1      // IO_URING_OP_SUPPORTED

	// AcceptMultishot in SQE.IoPrio makes one accept SQE complete once per
	// connection (kernel 5.19); each CQE then carries CQEFMore while the
	// request stays armed.
	AcceptMultishot = 1 << 0
	CQEFMore        = 1 << 1
)

// Params is struct io_uring_params (120 bytes).
type Params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32
	Features     uint32
	WQFd         uint32
	resv         [3]uint32
	SQOff        struct {
		Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, resv1 uint32
		userAddr                                                        uint64
	}
	CQOff struct {
		Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// SQE is struct io_uring_sqe: 64 bytes, the layout the kernel reads.
type SQE struct {
	Opcode      uint8  // 0
	Flags       uint8  // 1: IOSQE_*
	IoPrio      uint16 // 2: accept: AcceptMultishot
	Fd          int32  // 4
	Off         uint64 // 8: file offset, or addr2 (accept: *socklen_t)
	Addr        uint64 // 16: buffer, or sockaddr for accept
	Len         uint32 // 24: buffer length
	OpFlags     uint32 // 28: msg_flags, accept_flags, ...
	UserData    uint64 // 32: returned untouched in the CQE
	BufIndex    uint16 // 40: buf_index or buf_group
	Personality uint16 // 42
	SpliceFdIn  int32  // 44
	Addr3       uint64 // 48
	pad         uint64 // 56
}

// CQE is struct io_uring_cqe: 16 bytes.
type CQE struct {
	UserData uint64
	Res      int32 // result, or -errno
	Flags    uint32
}

// The kernel reads and writes these structs in place: their sizes are
// part of the ABI (io_uring_params 120 bytes, io_uring_sqe 64,
// io_uring_cqe 16). Each pair fails to compile if a size drifts either way.
var (
	_ [unsafe.Sizeof(Params{}) - 120]byte
	_ [120 - unsafe.Sizeof(Params{})]byte
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
)

// Ring is one io_uring instance with its mappings.
type Ring struct {
	fd       int
	params   Params
	sqMem    []byte
	cqMem    []byte // aliases sqMem with IORING_FEAT_SINGLE_MMAP
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []SQE
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []CQE
	single   bool   // one mapping for both rings
	tail     uint32 // local SQ tail, published on submit
	toSubmit uint32
	// enterFd and enterFlags are what io_uring_enter is called with: the
	// ring's descriptor, or its registered index (RegisterRingFd).
	enterFd    int
	enterFlags uintptr
	// WaitUnseen makes Submit's waits raw system calls (see Submit).
	WaitUnseen bool
	bufRings   []*BufRing // registered on this ring: unmapped by Close
}

// Setup flags a caller may ask for (IORING_SETUP_*).
const (
	// SetupSingleIssuer promises that only the creating thread submits
	// (6.0); the kernel can then skip locking.
	SetupSingleIssuer = 1 << 12
	// SetupDeferTaskrun runs completion work only when the issuer enters
	// the kernel to wait (6.1, needs SetupSingleIssuer): no interrupting
	// the issuer for each completion.
	SetupDeferTaskrun = 1 << 13
	// SetupCoopTaskrun: no IPI to the issuer for task work (5.19).
	SetupCoopTaskrun = 1 << 8
)

// New sets up a ring with sq submission entries, cq completion entries
// and the IORING_SETUP_* flags (which the kernel may refuse: EINVAL).
func New(sq, cq uint32, flags ...uint32) (*Ring, error) {
	r := &Ring{fd: -1}
	r.params.Flags = setupCQSize
	for _, f := range flags {
		r.params.Flags |= f
	}
	r.params.CQEntries = cq
	fd, _, errno := unix.Syscall(sysSetup, uintptr(sq), uintptr(unsafe.Pointer(&r.params)), 0)
	if errno != 0 {
		return nil, os.NewSyscallError("io_uring_setup", errno)
	}
	r.fd = int(fd)
	r.enterFd = r.fd
	if err := r.mmap(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mmap() error {
	p := &r.params
	sqSize := int(p.SQOff.Array + p.SQEntries*4)
	cqSize := int(p.CQOff.CQEs + p.CQEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.Features&featSingleMmap != 0
	r.single = single
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return os.NewSyscallError("mmap cq ring", err)
		}
	}
	sqeSize := int(p.SQEntries) * int(unsafe.Sizeof(SQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail = u32(r.sqMem, p.SQOff.Head), u32(r.sqMem, p.SQOff.Tail)
	r.sqMask = *u32(r.sqMem, p.SQOff.RingMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.SQOff.Array), p.SQEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SQEntries)
	r.cqHead, r.cqTail = u32(r.cqMem, p.CQOff.Head), u32(r.cqMem, p.CQOff.Tail)
	r.cqMask = *u32(r.cqMem, p.CQOff.RingMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.CQOff.CQEs])), p.CQEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	return nil
}

// Close unmaps the rings and closes the ring; the kernel cancels whatever
// is still in flight.
func (r *Ring) Close() error {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && !r.single {
		unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	// The kernel pinned the buffer rings' pages when they were registered
	// and lets go of them itself: unmapping our view of them is safe now.
	for _, b := range r.bufRings {
		unix.Munmap(b.mem)
		b.mem = nil
	}
	r.bufRings = nil
	return err
}

// RegisterRingFd registers the ring's descriptor with the calling
// thread (IORING_REGISTER_RING_FDS, 5.18), so that io_uring_enter skips
// looking the descriptor up (fdget/fdput) on every call. The index is
// valid only on the thread that registered it: call it from the
// ring's single issuer, locked to its OS thread.
func (r *Ring) RegisterRingFd() error {
	// struct io_uring_rsrc_update {offset u32; resv u32; data u64}:
	// offset -1 lets the kernel pick the slot and write it back.
	var upd struct {
		offset uint32
		resv   uint32
		data   uint64
	}
	upd.offset, upd.data = ^uint32(0), uint64(r.fd)
	_, _, errno := unix.Syscall6(sysRegister, uintptr(r.fd), registerRingFds, uintptr(unsafe.Pointer(&upd)), 1, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("io_uring_register(RING_FDS) (needs Linux 5.18)", errno)
	}
	r.enterFd, r.enterFlags = int(upd.offset), enterRegisteredRing
	return nil
}

// Features is the kernel's IORING_FEAT_* mask for this ring.
func (r *Ring) Features() uint32 { return r.params.Features }

// SQE returns the next free submission entry, zeroed, or nil when the
// submission queue is full (Submit, then try again).
func (r *Ring) SQE() *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.tail-head >= r.params.SQEntries {
		return nil
	}
	idx := r.tail & r.sqMask
	sqe := &r.sqes[idx]
	*sqe = SQE{}
	r.sqArray[idx] = idx
	r.tail++
	r.toSubmit++
	return sqe
}

// Submit hands the queued entries to the kernel and, when wait > 0, waits
// until at least wait completions are ready, in one io_uring_enter, as a
// C program's io_uring_submit_and_wait does. EINTR (the Go runtime's
// preemption signals interrupt blocking calls) is retried.
//
// With WaitUnseen set the wait is a raw system call, which the Go
// scheduler does not see. A blocking call it sees (Syscall6) costs the
// runtime's hand-off of the thread's P and, with one P, sets sysmon
// polling every 20 µs to retake it: measured at 10 connections as 7.5% of
// the server's samples in nanosleep and context switches; at 1000
// connections 3.89 µs of CPU per round trip against 3.65 unseen (the C
// reference: 3.59; docs/models.md). An unseen wait holds the
// thread's P, so the caller must give the process a P to spare for it
// (ReserveP); the runtime's preemption signal still
// interrupts it every 10 ms, and the wait yields then.
func (r *Ring) Submit(wait uint32) error {
	atomic.StoreUint32(r.sqTail, r.tail)
	// GETEVENTS even when not waiting: with SetupDeferTaskrun that is
	// when the kernel turns finished work into completions.
	flags := enterGetEvents | r.enterFlags
	for {
		var n uintptr
		var errno unix.Errno
		if wait == 0 || r.WaitUnseen {
			n, _, errno = unix.RawSyscall6(sysEnter, uintptr(r.enterFd), uintptr(r.toSubmit), uintptr(wait), flags, 0, 0)
		} else {
			n, _, errno = unix.Syscall6(sysEnter, uintptr(r.enterFd), uintptr(r.toSubmit), uintptr(wait), flags, 0, 0)
		}
		switch errno {
		case 0:
			r.toSubmit -= uint32(n)
			if r.toSubmit == 0 || wait == 0 {
				return nil
			}
			continue // some not consumed yet: hand them over again
		case unix.EINTR:
			if r.WaitUnseen {
				runtime.Gosched() // let the preempting runtime have its way
			}
			continue
		case unix.EAGAIN, unix.EBUSY:
			// The CQ is overflowing: reap before submitting more.
			return nil
		}
		return os.NewSyscallError("io_uring_enter", errno)
	}
}

// Ready is how many completions are waiting to be reaped.
func (r *Ring) Ready() uint32 {
	return atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead)
}

// Completions calls fn for every ready completion, in order, and returns
// how many there were. fn must not keep the pointer.
func (r *Ring) Completions(fn func(*CQE)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		fn(&r.cqes[head&r.cqMask])
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// PrepAccept: accept on listener fd, returning the new descriptor as Res.
func (s *SQE) PrepAccept(fd int, flags uint32, multishot bool, userData uint64) {
	s.Opcode, s.Fd, s.OpFlags, s.UserData = OpAccept, int32(fd), flags, userData
	if multishot {
		s.IoPrio = AcceptMultishot
	}
}

// RecvPollFirst in SQE.IoPrio of a recv skips the first non-blocking try
// and arms the poll at once (IORING_RECVSEND_POLL_FIRST, 5.19): right for
// a recv issued just after a reply went out, when the next request can't
// have arrived yet.
const RecvPollFirst = 1 << 0

// RecvMultishot in SQE.IoPrio of a recv with a buffer group keeps the
// recv armed (IORING_RECV_MULTISHOT, 6.0): one SQE, then a CQE with
// CQEFMore and a provided buffer for every arrival, until the peer
// closes, an error, no buffer left (-ENOBUFS) or a full CQ ends it
// (a CQE without CQEFMore).
const RecvMultishot = 1 << 1

// PrepRecvMultishot: a multishot recv on fd into buffers from group.
func (s *SQE) PrepRecvMultishot(fd int, group uint16, userData uint64) {
	s.PrepRecvSelect(fd, group, userData)
	s.IoPrio = RecvMultishot
}

// PrepRecv: recv(fd, buf) into memory the caller keeps alive until the CQE.
func (s *SQE) PrepRecv(fd int, buf []byte, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpRecv, int32(fd), userData
	s.Addr, s.Len = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf))
}

// PrepSend: send(fd, buf, MSG_NOSIGNAL); the kernel may send less.
func (s *SQE) PrepSend(fd int, buf []byte, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpSend, int32(fd), userData
	s.Addr, s.Len = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf))
	s.OpFlags = unix.MSG_NOSIGNAL
}

// PrepRead: read(fd, buf) at the current position (offset -1).
func (s *SQE) PrepRead(fd int, buf []byte, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpRead, int32(fd), userData
	s.Addr, s.Len, s.Off = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf)), ^uint64(0)
}

// Probe reports which operations this kernel's io_uring supports.
func (r *Ring) Probe() (map[uint8]bool, error) {
	// struct io_uring_probe: 16-byte header, then 8-byte io_uring_probe_op
	// entries {op u8, resv u8, flags u16, resv2 u32}.
	const nOps = 64
	buf := make([]byte, 16+8*nOps)
	_, _, errno := unix.Syscall6(sysRegister, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(&buf[0])), nOps, 0, 0)
	if errno != 0 {
		return nil, os.NewSyscallError("io_uring_register(PROBE)", errno)
	}
	ops := map[uint8]bool{}
	n := int(buf[1]) // ops_len
	for i := range min(n, nOps) {
		e := buf[16+8*i:]
		if binary.LittleEndian.Uint16(e[2:4])&opSupported != 0 {
			ops[e[0]] = true
		}
	}
	return ops, nil
}

// ErrUnavailable wraps every reason io_uring can't be used here; its
// text is just the subsystem's name, since callers say "unavailable".
var ErrUnavailable = errors.New("io_uring")

// Check reports why this process can't use io_uring with the operations
// ops, or nil when it can: the kernel may lack it (ENOSYS), a sysctl or a
// container's seccomp profile may forbid it (EPERM), or the kernel may be
// too old for an operation.
func Check(ops ...uint8) error {
	if b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); err == nil {
		switch strings.TrimSpace(string(b)) {
		case "2":
			return fmt.Errorf("%w: disabled by sysctl kernel.io_uring_disabled=2", ErrUnavailable)
		}
	}
	r, err := New(4, 8)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOSYS):
			return fmt.Errorf("%w: the kernel has no io_uring: %w", ErrUnavailable, err)
		case errors.Is(err, unix.EPERM):
			return fmt.Errorf("%w: not permitted (kernel.io_uring_disabled, or a container's seccomp profile): %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer r.Close()
	if r.Features()&featNoDrop == 0 {
		return fmt.Errorf("%w: kernel older than 5.5 (no IORING_FEAT_NODROP)", ErrUnavailable)
	}
	have, err := r.Probe()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, op := range ops {
		if !have[op] {
			return fmt.Errorf("%w: the kernel lacks io_uring operation %d (kernel too old)", ErrUnavailable, op)
		}
	}
	return nil
}

// PrepCancel cancels the operation submitted with user data target; the
// cancelled one completes with -ECANCELED (or had already completed:
// this one then returns -ENOENT).
func (s *SQE) PrepCancel(target, userData uint64) {
	s.Opcode, s.Fd, s.Addr, s.UserData = OpCancel, -1, target, userData
}

// Provided buffers (a buffer ring, kernel 5.19): the process hands the
// kernel a ring of buffers once, and a recv flagged IOSQE_BUFFER_SELECT
// takes one when data arrives, naming it in the CQE. A connection waiting
// for data then holds no buffer at all.
const (
	registerPbufRing = 22     // IORING_REGISTER_PBUF_RING
	SQEBufferSelect  = 1 << 5 // IOSQE_BUFFER_SELECT
	CQEFBuffer       = 1 << 0 // IORING_CQE_F_BUFFER: the buffer id is in Flags >> 16
)

// BufRing is a registered ring of provided buffers. Layout (uapi):
// entries of struct io_uring_buf {addr u64; len u32; bid u16; resv u16},
// 16 bytes each, whose first entry's resv doubles as the ring's tail.
type BufRing struct {
	mem   []byte   // the ring, mmapped (page-aligned, as the kernel wants)
	bufs  [][]byte // buffer i has id i; Go memory, referenced here for good
	mask  uint16
	tail  uint16
	group uint16
}

// RegisterBufRing registers n buffers of size bytes (n a power of two,
// at most 32768) as buffer group group.
func (r *Ring) RegisterBufRing(n, size int, group uint16) (*BufRing, error) {
	if n <= 0 || n > 32768 || n&(n-1) != 0 {
		return nil, fmt.Errorf("uring: %d buffers: want a power of two up to 32768", n)
	}
	mem, err := unix.Mmap(-1, 0, n*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap buffer ring", err)
	}
	// struct io_uring_buf_reg {ring_addr u64; ring_entries u32; bgid u16; flags u16; resv [3]u64}
	var reg [40]byte
	binary.LittleEndian.PutUint64(reg[0:], uint64(uintptr(unsafe.Pointer(&mem[0]))))
	binary.LittleEndian.PutUint32(reg[8:], uint32(n))
	binary.LittleEndian.PutUint16(reg[12:], group)
	_, _, errno := unix.Syscall6(sysRegister, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg[0])), 1, 0, 0)
	if errno != 0 {
		unix.Munmap(mem)
		return nil, os.NewSyscallError("io_uring_register(PBUF_RING) (needs Linux 5.19)", errno)
	}
	b := &BufRing{mem: mem, mask: uint16(n - 1), group: group}
	r.bufRings = append(r.bufRings, b)
	// One allocation: large enough that Go takes it straight from the OS,
	// so only the pages the kernel writes into become resident.
	all := make([]byte, n*size)
	for i := range n {
		b.bufs = append(b.bufs, all[i*size:(i+1)*size:(i+1)*size])
		b.Put(uint16(i))
	}
	return b, nil
}

// Group is the buffer group id to name in a recv.
func (b *BufRing) Group() uint16 { return b.group }

// Buf returns buffer id.
func (b *BufRing) Buf(id uint16) []byte { return b.bufs[id] }

// Len is how many buffers the ring has.
func (b *BufRing) Len() int { return len(b.bufs) }

// Put hands buffer id back to the kernel.
func (b *BufRing) Put(id uint16) {
	e := b.mem[int(b.tail&b.mask)*16:]
	buf := b.bufs[id]
	binary.LittleEndian.PutUint64(e[0:], uint64(uintptr(unsafe.Pointer(&buf[0]))))
	binary.LittleEndian.PutUint32(e[8:], uint32(len(buf)))
	binary.LittleEndian.PutUint16(e[12:], id)
	b.tail++
	// The tail is the u16 at offset 14 (little-endian): publish it after
	// the entry with an atomic store of the word holding it (entry 0's bid
	// shares that word; only this thread writes either).
	tailWord := (*uint32)(unsafe.Pointer(&b.mem[12]))
	atomic.StoreUint32(tailWord, atomic.LoadUint32(tailWord)&0xffff|uint32(b.tail)<<16)
}

// PrepRecvSelect: recv on fd into a buffer the kernel picks from group.
func (s *SQE) PrepRecvSelect(fd int, group uint16, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpRecv, int32(fd), userData
	s.Flags |= SQEBufferSelect
	s.BufIndex = group
}

// ReserveP raises GOMAXPROCS by one until the returned release is
// called: a ring thread waiting unseen by the scheduler (WaitUnseen)
// holds a P, and without a spare one the process's other goroutines (a
// peer in the same process, the signal handler, a progress ticker) would
// wait for the runtime's 10 ms preemption every time. It is a global
// because GOMAXPROCS is; rings in one process share it, and setting it
// disables the runtime's own updates of it, as any explicit setting does.
func ReserveP() (release func()) {
	pReserve.Lock()
	defer pReserve.Unlock()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	var once sync.Once
	return func() {
		once.Do(func() {
			pReserve.Lock()
			defer pReserve.Unlock()
			runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)-1))
		})
	}
}

var pReserve sync.Mutex

// OpTimeout completes after a time (IORING_OP_TIMEOUT, 5.4) with -ETIME.
const OpTimeout = 11

// PrepTimeout: a completion after ts (relative), which the caller keeps
// alive until it arrives.
func (s *SQE) PrepTimeout(ts *unix.Timespec, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpTimeout, -1, userData
	s.Addr, s.Len = uint64(uintptr(unsafe.Pointer(ts))), 1
}
