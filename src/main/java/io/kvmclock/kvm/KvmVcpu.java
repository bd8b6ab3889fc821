package io.kvmclock.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.time.PvclockTimeInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A vCPU fd and its kvm_run mapping. On creation it gets the host's supported CPUID, which includes KVM's
 * paravirt leaves 0x40000000/0x40000001 advertising kvmclock (KVM_FEATURE_CLOCKSOURCE2).
 */
final class KvmVcpu implements Vcpu {
    private final KvmVm vm;
    private final int id;
    private final int fd;
    private final MemorySegment run;
    private boolean closed;

    KvmVcpu(KvmVm vm, int id) {
        this.vm = vm;
        this.id = id;
        int vcpuFd = Native.ioctl("KVM_CREATE_VCPU", vm.fd(), Ioctls.KVM_CREATE_VCPU, id);
        MemorySegment runMap = null;
        try {
            runMap = Native.mmap("kvm_run", vm.kvm().vcpuMmapSize(), Native.MAP_SHARED, vcpuFd, 0);
            byte[] cpuid = vm.kvm().supportedCpuid();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(cpuid.length, 8);
                MemorySegment.copy(MemorySegment.ofArray(cpuid), 0, buf, 0, cpuid.length);
                Native.ioctl(arena, "KVM_SET_CPUID2", vcpuFd, Ioctls.KVM_SET_CPUID2, buf);
            }
        } catch (RuntimeException e) {
            if (runMap != null) {
                Native.munmap(runMap);
            }
            Native.close(vcpuFd);
            throw e;
        }
        this.fd = vcpuFd;
        this.run = runMap;
    }

    private void checkOpen() {
        if (closed) {
            throw new HvException("vCPU ioctl", Errno.EBADF.number(), "vCPU " + id + " is closed");
        }
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public long getTscKhz() {
        checkOpen();
        return Native.ioctl("KVM_GET_TSC_KHZ", fd, Ioctls.KVM_GET_TSC_KHZ, 0);
    }

    @Override
    public void setTscKhz(long khz) {
        checkOpen();
        Native.ioctl("KVM_SET_TSC_KHZ", fd, Ioctls.KVM_SET_TSC_KHZ, khz);
    }

    private MemorySegment tscOffsetAttr(Arena arena, MemorySegment value) {
        return tscCtrlAttr(arena, Ioctls.KVM_VCPU_TSC_OFFSET, value);
    }

    /** A struct kvm_device_attr for group KVM_VCPU_TSC_CTRL, attribute {@code attribute}, value at {@code value}. */
    private static MemorySegment tscCtrlAttr(Arena arena, int attribute, MemorySegment value) {
        MemorySegment attr = arena.allocate(Layouts.KVM_DEVICE_ATTR);
        attr.set(JAVA_INT, Layouts.ATTR_GROUP, Ioctls.KVM_VCPU_TSC_CTRL);
        attr.set(JAVA_LONG, Layouts.ATTR_ATTR, attribute);
        attr.set(JAVA_LONG, Layouts.ATTR_ADDR, value.address());
        return attr;
    }

    @Override
    public TscScale getTscScale() {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(Layouts.KVM_VCPU_TSC_SCALE);
            Native.ioctl(arena, "KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_SCALE)", fd, Ioctls.KVM_GET_DEVICE_ATTR,
                    tscCtrlAttr(arena, Ioctls.KVM_VCPU_TSC_SCALE, value));
            return new TscScale(value.get(JAVA_LONG, Layouts.TSC_SCALE_RATIO), value.get(JAVA_LONG, Layouts.TSC_SCALE_FRAC_BITS));
        }
    }

    @Override
    public long getTscOffset() {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_LONG);
            Native.ioctl(arena, "KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", fd, Ioctls.KVM_GET_DEVICE_ATTR,
                    tscOffsetAttr(arena, value));
            return value.get(JAVA_LONG, 0);
        }
    }

    @Override
    public void setTscOffset(long offset) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_LONG);
            value.set(JAVA_LONG, 0, offset);
            Native.ioctl(arena, "KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", fd, Ioctls.KVM_SET_DEVICE_ATTR,
                    tscOffsetAttr(arena, value));
        }
    }

    /** KVM_HAS_DEVICE_ATTR for KVM_VCPU_TSC_OFFSET: false on ENXIO (the kernel's "no such attribute"). */
    boolean hasTscOffset() {
        return hasTscCtrl(Ioctls.KVM_VCPU_TSC_OFFSET, "KVM_VCPU_TSC_OFFSET");
    }

    /** KVM_HAS_DEVICE_ATTR for KVM_VCPU_TSC_SCALE: false on ENXIO (no TSC control, or a kernel without it). */
    boolean hasTscScale() {
        return hasTscCtrl(Ioctls.KVM_VCPU_TSC_SCALE, "KVM_VCPU_TSC_SCALE");
    }

    private boolean hasTscCtrl(int attribute, String name) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(Layouts.KVM_VCPU_TSC_SCALE);
            Native.ioctl(arena, "KVM_HAS_DEVICE_ATTR(" + name + ")", fd, Ioctls.KVM_HAS_DEVICE_ATTR,
                    tscCtrlAttr(arena, attribute, value));
            return true;
        } catch (HvException e) {
            if (e.is(Errno.ENXIO)) {
                return false;
            }
            throw e;
        }
    }

    /** KVM_GET_MSRS/KVM_SET_MSRS return how many entries they processed: fewer than asked means refused. */
    @Override
    public long getMsr(int index) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msrs = msrs(arena, index, 0);
            String name = String.format("KVM_GET_MSRS(0x%x)", index);
            if (Native.ioctl(arena, name, fd, Ioctls.KVM_GET_MSRS, msrs) != 1) {
                throw new HvException(name, Errno.EINVAL.number(), "the kernel did not read the MSR");
            }
            return msrs.get(JAVA_LONG, Layouts.MSRS_HEADER + Layouts.MSR_DATA);
        }
    }

    @Override
    public void setMsr(int index, long value) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            String name = String.format("KVM_SET_MSRS(0x%x)", index);
            if (Native.ioctl(arena, name, fd, Ioctls.KVM_SET_MSRS, msrs(arena, index, value)) != 1) {
                throw new HvException(name, Errno.EINVAL.number(), "the kernel refused the value 0x" + Long.toHexString(value));
            }
        }
    }

    private static MemorySegment msrs(Arena arena, int index, long value) {
        MemorySegment m = arena.allocate(Layouts.MSRS_HEADER + Layouts.KVM_MSR_ENTRY.byteSize(), 8);
        m.set(JAVA_INT, 0, 1);
        m.set(JAVA_INT, Layouts.MSRS_HEADER + Layouts.MSR_INDEX, index);
        m.set(JAVA_LONG, Layouts.MSRS_HEADER + Layouts.MSR_DATA, value);
        return m;
    }

    @Override
    public void kvmclockCtrl() {
        checkOpen();
        Native.ioctl("KVM_KVMCLOCK_CTRL", fd, Ioctls.KVM_KVMCLOCK_CTRL, 0);
    }

    @Override
    public PvclockTimeInfo getClockGuest() {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(Layouts.PVCLOCK_VCPU_TIME_INFO);
            Native.ioctl(arena, "KVM_GET_CLOCK_GUEST", fd, Ioctls.KVM_GET_CLOCK_GUEST, p);
            return PvclockTimeInfo.decode(p.toArray(JAVA_BYTE));
        }
    }

    @Override
    public void setClockGuest(PvclockTimeInfo pvclock) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = pvclock.encode();
            MemorySegment p = arena.allocate(Layouts.PVCLOCK_VCPU_TIME_INFO);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, p, 0, bytes.length);
            Native.ioctl(arena, "KVM_SET_CLOCK_GUEST", fd, Ioctls.KVM_SET_CLOCK_GUEST, p);
        }
    }

    @Override
    public void resetToRealMode(long entryGpa) {
        checkOpen();
        if (entryGpa < 0 || entryGpa >= (1L << 20)) {
            throw new IllegalArgumentException(String.format("real-mode entry 0x%x is above 1 MiB", entryGpa));
        }
        long base = entryGpa & ~0xffffL;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = arena.allocate(Layouts.KVM_SREGS);
            Native.ioctl(arena, "KVM_GET_SREGS", fd, Ioctls.KVM_GET_SREGS, sregs);
            sregs.set(JAVA_LONG, Layouts.SREGS_CS + Layouts.SEGMENT_BASE, base);
            // in real mode a selector is its base >> 4 (VMX checks this without unrestricted guest)
            sregs.set(JAVA_SHORT, Layouts.SREGS_CS + Layouts.SEGMENT_SELECTOR, (short) (base >>> 4));
            Native.ioctl(arena, "KVM_SET_SREGS", fd, Ioctls.KVM_SET_SREGS, sregs);
            MemorySegment regs = arena.allocate(Layouts.KVM_REGS);
            regs.set(JAVA_LONG, Layouts.REGS_RIP, entryGpa & 0xffff);
            regs.set(JAVA_LONG, Layouts.REGS_RFLAGS, 0x2); // bit 1 is reserved and must be set
            Native.ioctl(arena, "KVM_SET_REGS", fd, Ioctls.KVM_SET_REGS, regs);
        }
    }

    /**
     * Completes any port I/O the last exit left pending (KVM_RUN with immediate_exit set, as
     * Documentation/virt/kvm/api.rst asks before saving state), then reads kvm_regs and kvm_sregs. Without
     * that step the saved RIP would still point at the OUT and the restored guest would repeat it.
     */
    @Override
    public CpuState saveCpuState() {
        checkOpen();
        completePendingIo();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(Layouts.KVM_REGS);
            Native.ioctl(arena, "KVM_GET_REGS", fd, Ioctls.KVM_GET_REGS, regs);
            MemorySegment sregs = arena.allocate(Layouts.KVM_SREGS);
            Native.ioctl(arena, "KVM_GET_SREGS", fd, Ioctls.KVM_GET_SREGS, sregs);
            return new CpuState(regs.toArray(JAVA_BYTE), sregs.toArray(JAVA_BYTE));
        }
    }

    private void completePendingIo() {
        run.set(JAVA_BYTE, Layouts.RUN_IMMEDIATE_EXIT, (byte) 1);
        try {
            Native.ioctl("KVM_RUN", fd, Ioctls.KVM_RUN, 0);
        } catch (HvException e) {
            if (!e.is(Errno.EINTR)) {
                throw e;
            }
        } finally {
            run.set(JAVA_BYTE, Layouts.RUN_IMMEDIATE_EXIT, (byte) 0);
        }
    }

    @Override
    public void restoreCpuState(CpuState state) {
        checkOpen();
        if (state.regs().length != Layouts.KVM_REGS.byteSize() || state.sregs().length != Layouts.KVM_SREGS.byteSize()) {
            throw new IllegalArgumentException("CPU state must be a " + Layouts.KVM_REGS.byteSize() + "-byte kvm_regs and a "
                    + Layouts.KVM_SREGS.byteSize() + "-byte kvm_sregs; got " + state.regs().length + " and " + state.sregs().length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = arena.allocate(Layouts.KVM_SREGS);
            MemorySegment.copy(MemorySegment.ofArray(state.sregs()), 0, sregs, 0, sregs.byteSize());
            Native.ioctl(arena, "KVM_SET_SREGS", fd, Ioctls.KVM_SET_SREGS, sregs);
            MemorySegment regs = arena.allocate(Layouts.KVM_REGS);
            MemorySegment.copy(MemorySegment.ofArray(state.regs()), 0, regs, 0, regs.byteSize());
            Native.ioctl(arena, "KVM_SET_REGS", fd, Ioctls.KVM_SET_REGS, regs);
        }
    }

    @Override
    public void serveRequests() {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(4 + 8, 8);
            mask.set(JAVA_INT, 0, 8);
            mask.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, Native.blockKickAndMaskWithout(arena));
            Native.ioctl(arena, "KVM_SET_SIGNAL_MASK", fd, Ioctls.KVM_SET_SIGNAL_MASK, mask);
            boolean entered = false;
            try {
                Native.raiseKick(arena);
                Native.ioctl(arena, "KVM_RUN", fd, Ioctls.KVM_RUN, 0);
                entered = true;
            } catch (HvException e) {
                if (!e.is(Errno.EINTR)) {
                    throw e;
                }
            } finally {
                Native.ioctl(arena, "KVM_SET_SIGNAL_MASK", fd, Ioctls.KVM_SET_SIGNAL_MASK, MemorySegment.NULL);
                Native.takeKick(arena);
            }
            if (entered || run.get(JAVA_INT, Layouts.RUN_EXIT_REASON) != Ioctls.KVM_EXIT_INTR) {
                throw new IllegalStateException("KVM_RUN with a signal pending entered the guest (exit reason "
                        + run.get(JAVA_INT, Layouts.RUN_EXIT_REASON) + "): this kernel does not stop before entry");
            }
        }
    }

    @Override
    public VcpuExit run() {
        checkOpen();
        while (true) {
            try {
                Native.ioctl("KVM_RUN", fd, Ioctls.KVM_RUN, 0);
                break;
            } catch (HvException e) {
                if (!e.is(Errno.EINTR) && !e.is(Errno.EAGAIN)) {
                    throw e;
                }
            }
        }
        int reason = run.get(JAVA_INT, Layouts.RUN_EXIT_REASON);
        return switch (reason) {
            case Ioctls.KVM_EXIT_IO -> ioExit();
            case Ioctls.KVM_EXIT_HLT -> new VcpuExit.Halt();
            case Ioctls.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.Other(reason, String.format(
                    "KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason 0x%x", run.get(JAVA_LONG, Layouts.RUN_UNION)));
            case Ioctls.KVM_EXIT_INTERNAL_ERROR -> new VcpuExit.Other(reason,
                    "KVM_EXIT_INTERNAL_ERROR: suberror " + run.get(JAVA_INT, Layouts.RUN_UNION));
            default -> new VcpuExit.Other(reason, "exit reason " + reason);
        };
    }

    private VcpuExit ioExit() {
        int direction = Byte.toUnsignedInt(run.get(JAVA_BYTE, Layouts.RUN_IO_DIRECTION));
        int size = Byte.toUnsignedInt(run.get(JAVA_BYTE, Layouts.RUN_IO_SIZE));
        int port = Short.toUnsignedInt(run.get(JAVA_SHORT, Layouts.RUN_IO_PORT));
        int count = run.get(JAVA_INT, Layouts.RUN_IO_COUNT);
        if (direction != Ioctls.KVM_EXIT_IO_OUT || count != 1 || size > 8) {
            return new VcpuExit.Other(Ioctls.KVM_EXIT_IO, String.format(
                    "KVM_EXIT_IO %s port 0x%x size %d count %d", direction == 0 ? "in" : "out", port, size, count));
        }
        long at = run.get(JAVA_LONG, Layouts.RUN_IO_DATA_OFFSET);
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            value = (value << 8) | Byte.toUnsignedLong(run.get(JAVA_BYTE, at + i));
        }
        return new VcpuExit.IoOut(port, size, value);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Native.munmap(run);
        Native.close(fd);
        vm.forget(this);
    }
}
