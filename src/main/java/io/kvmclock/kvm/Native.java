package io.kvmclock.kvm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.kvmclock.hv.HvException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The libc calls the binding needs, through one downcall helper that always captures errno. Every call gets
 * its own errno segment, allocated in the caller's arena: a shared static one would be overwritten by a
 * concurrent call between the failure and the read.
 */
final class Native {
    private Native() {}

    static final int O_RDWR = 0x2;
    static final int O_CREAT = 0x40;
    static final int O_CLOEXEC = 0x80000;
    static final int PROT_READ_WRITE = 0x1 | 0x2;
    static final int MAP_SHARED = 0x1;
    static final int MAP_PRIVATE = 0x2;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int CLOCK_REALTIME = 0;
    static final int CLOCK_MONOTONIC_RAW = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** The one way this package makes a downcall: libc symbol, errno captured, plus any extra options. */
    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.captureCallState("errno");
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, fd, all);
    }

    // open(const char *path, int flags, ...) : mode is variadic
    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // ioctl(int fd, unsigned long request, ...) : the argument is variadic, a pointer or an integer
    private static final MethodHandle IOCTL_PTR = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = downcall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = downcall("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FTRUNCATE = downcall("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle CLOCK_GETTIME = downcall("clock_gettime",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle UNAME = downcall("uname", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle PTHREAD_SIGMASK = downcall("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPID = downcall("getpid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETTID = downcall("gettid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle TGKILL = downcall("tgkill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SIGTIMEDWAIT = downcall("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    /**
     * The real-time signal the binding sends its own thread so that a KVM_RUN returns before entering the guest
     * (SIGRTMAX - 4; the JVM uses no real-time signal). It stays blocked in the thread, so no handler ever runs:
     * it is only ever pending inside KVM_RUN, then taken back with sigtimedwait.
     */
    static final int KICK_SIGNAL = 60;
    private static final int SIG_BLOCK = 0;
    /** glibc's sigset_t is 1024 bits; the kernel's (what KVM_SET_SIGNAL_MASK takes) is its first 64. */
    private static final long SIGSET_BYTES = 128;
    // process_vm_readv(pid, local iov, liovcnt, remote iov, riovcnt, flags): one copy, the target keeps running
    private static final MethodHandle PROCESS_VM_READV = downcall("process_vm_readv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
    /** struct iovec: void *iov_base; size_t iov_len. */
    private static final long IOVEC_SIZE = 16;

    /** struct utsname: six char[65] fields; release is the third. */
    private static final long UTSNAME_SIZE = 6 * 65;
    private static final long UTSNAME_RELEASE = 2 * 65;

    /** A failed call: the errno and the name of the call, for HvException or a friendlier message. */
    static final class NativeError extends RuntimeException {
        final int errno;

        NativeError(String call, int errno) {
            super(call, null, false, false);
            this.errno = errno;
        }
    }

    private static MemorySegment errnoSegment(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    /**
     * Per thread, the ns spent inside ioctl(2) downcalls: the kernel's share of an operation, as against the
     * Java around it (struct packing, arenas, the project's own logic). Read through Hypervisor.ioctlNanos.
     */
    private static final ThreadLocal<long[]> IOCTL_NANOS = ThreadLocal.withInitial(() -> new long[1]);

    static long ioctlNanos() {
        return IOCTL_NANOS.get()[0];
    }

    /** ioctl with a pointer argument; returns the ioctl's non-negative result or throws HvException. */
    static int ioctl(Arena arena, String name, int fd, long request, MemorySegment arg) {
        return ioctl(errnoSegment(arena), name, fd, request, arg);
    }

    /**
     * Per thread, one kvm_clock_data buffer and one errno segment for the clock ioctls, which a restore issues
     * dozens of times inside the blackout: no arena to open and close per call.
     */
    static final class Scratch {
        final MemorySegment clock;
        final MemorySegment errno;

        private Scratch(Arena arena) {
            clock = arena.allocate(Layouts.KVM_CLOCK_DATA);
            errno = arena.allocate(CAPTURE_LAYOUT);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(() -> new Scratch(Arena.ofAuto()));

    static Scratch scratch() {
        return SCRATCH.get();
    }

    /** ioctl with a pointer argument and the errno segment given (see {@link Scratch}). */
    static int ioctl(MemorySegment state, String name, int fd, long request, MemorySegment arg) {
        int r;
        long t0 = System.nanoTime();
        try {
            r = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            IOCTL_NANOS.get()[0] += System.nanoTime() - t0;
        }
        if (r == -1) {
            throw new HvException(name, errno(state));
        }
        return r;
    }

    /** ioctl with an integer argument (or none: pass 0). */
    static int ioctl(Arena arena, String name, int fd, long request, long arg) {
        MemorySegment state = errnoSegment(arena);
        int r;
        long t0 = System.nanoTime();
        try {
            r = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            IOCTL_NANOS.get()[0] += System.nanoTime() - t0;
        }
        if (r == -1) {
            throw new HvException(name, errno(state));
        }
        return r;
    }

    /** ioctl with an integer argument, in its own arena (for calls that need no buffer). */
    static int ioctl(String name, int fd, long request, long arg) {
        try (Arena arena = Arena.ofConfined()) {
            return ioctl(arena, name, fd, request, arg);
        }
    }

    /** open(2); a failure throws NativeError so the caller can say what the errno means for that file. */
    static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            int fd;
            try {
                fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (fd < 0) {
                throw new NativeError("open " + path, errno(state));
            }
            return fd;
        }
    }

    static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            int r;
            try {
                r = (int) CLOSE.invokeExact(state, fd);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r != 0) {
                throw new HvException("close", errno(state));
            }
        }
    }

    /** mmap(2) of {@code length} bytes; the segment is sized to the mapping. */
    static MemorySegment mmap(String what, long length, int flags, int fd, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            MemorySegment p;
            try {
                p = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, PROT_READ_WRITE, flags, fd, offset);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (p.address() == -1L) {
                throw new HvException("mmap " + what, errno(state));
            }
            return p.reinterpret(length);
        }
    }

    static void munmap(MemorySegment mapping) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            int r;
            try {
                r = (int) MUNMAP.invokeExact(state, mapping, mapping.byteSize());
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r != 0) {
                throw new HvException("munmap", errno(state));
            }
        }
    }

    static void ftruncate(int fd, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            int r;
            try {
                r = (int) FTRUNCATE.invokeExact(state, fd, length);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r != 0) {
                throw new HvException("ftruncate", errno(state));
            }
        }
    }

    private static final MethodHandle CLOCK_GETTIME_PLAIN = LINKER.downcallHandle(
            LINKER.defaultLookup().find("clock_gettime").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final ThreadLocal<MemorySegment> TIMESPEC = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    /**
     * CLOCK_MONOTONIC_RAW in ns for timing: no arena and no errno capture (the vDSO call cannot fail for this
     * clock), so it costs tens of ns and can bracket single ioctls.
     */
    static long monotonicRawNs() {
        MemorySegment ts = TIMESPEC.get();
        int r;
        try {
            r = (int) CLOCK_GETTIME_PLAIN.invokeExact(CLOCK_MONOTONIC_RAW, ts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) {
            throw new HvException("clock_gettime", 22);
        }
        return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
    }

    /** clock_gettime(2) in ns, the timespec in the caller's arena. */
    static long clockGettime(Arena arena, int clock) {
        MemorySegment state = errnoSegment(arena);
        MemorySegment ts = arena.allocate(16, 8);
        int r;
        try {
            r = (int) CLOCK_GETTIME.invokeExact(state, clock, ts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) {
            throw new HvException("clock_gettime", errno(state));
        }
        return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
    }

    /**
     * Blocks {@link #KICK_SIGNAL} in the calling thread and returns the thread's signal mask as the kernel's
     * 64-bit sigset, with the kick signal cleared: the mask a vCPU should run with to see the kick.
     */
    static long blockKickAndMaskWithout(Arena arena) {
        MemorySegment set = arena.allocate(SIGSET_BYTES, 8);
        set.set(JAVA_LONG, 0, 1L << (KICK_SIGNAL - 1));
        MemorySegment old = arena.allocate(SIGSET_BYTES, 8);
        int r;
        try {
            r = (int) PTHREAD_SIGMASK.invokeExact(errnoSegment(arena), SIG_BLOCK, set, old);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) {
            throw new HvException("pthread_sigmask", r);
        }
        return old.get(JAVA_LONG, 0) & ~(1L << (KICK_SIGNAL - 1));
    }

    /** Makes {@link #KICK_SIGNAL} pending on the calling thread (tgkill to itself; blocked, so not delivered). */
    static void raiseKick(Arena arena) {
        MemorySegment state = errnoSegment(arena);
        int r;
        try {
            int pid = (int) GETPID.invokeExact(state);
            int tid = (int) GETTID.invokeExact(state);
            r = (int) TGKILL.invokeExact(state, pid, tid, KICK_SIGNAL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) {
            throw new HvException("tgkill", errno(state));
        }
    }

    /** Takes a pending {@link #KICK_SIGNAL} off the calling thread without waiting; false when none was pending. */
    static boolean takeKick(Arena arena) {
        MemorySegment state = errnoSegment(arena);
        MemorySegment set = arena.allocate(SIGSET_BYTES, 8);
        set.set(JAVA_LONG, 0, 1L << (KICK_SIGNAL - 1));
        MemorySegment zero = arena.allocate(16, 8);
        int r;
        try {
            r = (int) SIGTIMEDWAIT.invokeExact(state, set, MemorySegment.NULL, zero);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return r == KICK_SIGNAL;
    }

    private static final MethodHandle SCHED_SETSCHEDULER = downcall("sched_setscheduler",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle SCHED_GETSCHEDULER = downcall("sched_getscheduler",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final int SCHED_OTHER = 0;
    static final int SCHED_FIFO = 1;
    /** Threads and processes the boosted thread creates start at SCHED_OTHER, not real-time. */
    static final int SCHED_RESET_ON_FORK = 0x40000000;

    /** The calling thread's scheduling policy (sched_getscheduler(0)). */
    static int schedPolicy() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            int r;
            try {
                r = (int) SCHED_GETSCHEDULER.invokeExact(state, 0);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r < 0) {
                throw new HvException("sched_getscheduler", errno(state));
            }
            return r;
        }
    }

    /** sched_setscheduler(0, policy, {priority}) for the calling thread; false when not permitted. */
    static boolean setSchedPolicy(int policy, int priority) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            MemorySegment param = arena.allocate(JAVA_INT);
            param.set(JAVA_INT, 0, priority);
            int r;
            try {
                r = (int) SCHED_SETSCHEDULER.invokeExact(state, 0, policy, param);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            return r == 0;
        }
    }

    /** uname(2)'s release field: the running kernel. */
    static String kernelRelease() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = errnoSegment(arena);
            MemorySegment buf = arena.allocate(UTSNAME_SIZE);
            int r;
            try {
                r = (int) UNAME.invokeExact(state, buf);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r != 0) {
                throw new HvException("uname", errno(state));
            }
            return buf.getString(UTSNAME_RELEASE);
        }
    }

    /**
     * process_vm_readv(2) of {@code local.byteSize()} bytes from {@code remote} in process {@code pid} into
     * {@code local}: the bytes read (fewer when the range ends in an unmapped page), HvException otherwise.
     */
    static long processVmReadv(Arena arena, int pid, MemorySegment local, long remote) {
        MemorySegment state = errnoSegment(arena);
        MemorySegment liov = arena.allocate(IOVEC_SIZE, 8);
        MemorySegment riov = arena.allocate(IOVEC_SIZE, 8);
        liov.set(ADDRESS, 0, local);
        liov.set(JAVA_LONG, 8, local.byteSize());
        riov.set(JAVA_LONG, 0, remote);
        riov.set(JAVA_LONG, 8, local.byteSize());
        long r;
        try {
            r = (long) PROCESS_VM_READV.invokeExact(state, pid, liov, 1L, riov, 1L, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) {
            throw new HvException("process_vm_readv", errno(state));
        }
        return r;
    }
}
