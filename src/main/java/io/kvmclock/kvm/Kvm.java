package io.kvmclock.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.kvmclock.hv.Boost;
import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.hv.HostProfile;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.HvUnavailableException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.TscScaling;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The /dev/kvm system fd. Owns every VM it made that is still open, and one private "clock VM" (a VM with one
 * halted vCPU) created on first need, used to measure the vCPU tsc_khz and to read the host TSC: with a
 * vCPU the master clock engages, and KVM_GET_CLOCK then returns host_tsc and realtime read at one instant.
 */
final class Kvm implements Hypervisor {
    private static final Path CLOCKSOURCE = Path.of("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    /** Below 4 GiB and above any guest memory this project maps; three pages (KVM_SET_TSS_ADDR). */
    static final long TSS_ADDR = 0xfffb_d000L;

    private final int fd;
    private final int apiVersion;
    private final long vcpuMmapSize;
    private final ClockCapabilities capabilities;
    private final List<KvmVm> vms = new ArrayList<>();
    private byte[] supportedCpuid;
    private KvmVm clockVm;
    private HostInfo host;
    private boolean closed;

    private Kvm(int fd) {
        this.fd = fd;
        this.apiVersion = Native.ioctl("KVM_GET_API_VERSION", fd, Ioctls.KVM_GET_API_VERSION, 0);
        if (apiVersion != Ioctls.KVM_API_VERSION) {
            Native.close(fd);
            throw new HvUnavailableException("/dev/kvm speaks KVM API version " + apiVersion + ", this tool needs "
                    + Ioctls.KVM_API_VERSION + ": use a Linux kernel with the stable KVM API");
        }
        this.vcpuMmapSize = Native.ioctl("KVM_GET_VCPU_MMAP_SIZE", fd, Ioctls.KVM_GET_VCPU_MMAP_SIZE, 0);
        int adjust = checkExtension(Ioctls.KVM_CAP_ADJUST_CLOCK);
        this.capabilities = new ClockCapabilities(adjust,
                checkExtension(Ioctls.KVM_CAP_TSC_CONTROL) > 0,
                checkExtension(Ioctls.KVM_CAP_VM_TSC_CONTROL) > 0,
                checkExtension(Ioctls.KVM_CAP_KVMCLOCK_CTRL) > 0,
                checkExtension(Ioctls.KVM_CAP_VCPU_ATTRIBUTES) > 0,
                false);
    }

    static Kvm open(String device) {
        int fd;
        try {
            fd = Native.open(device, Native.O_RDWR | Native.O_CLOEXEC, 0);
        } catch (Native.NativeError e) {
            throw new HvUnavailableException(switch (e.errno) {
                case 2 -> device + " does not exist: this machine has no KVM (enable VT-x/AMD-V or nested "
                        + "virtualization and load kvm_intel or kvm_amd), or use the model backend";
                case 1, 13 -> "no permission to open " + device + ": add your user to the group that owns it "
                        + "(usually kvm: sudo usermod -aG kvm $USER, then log in again) or run as root";
                default -> "cannot open " + device + ": " + Errno.describe(e.errno);
            });
        }
        try {
            return new Kvm(fd);
        } catch (HvException e) {
            Native.close(fd);
            throw new HvUnavailableException(device + " opened but does not answer as KVM (" + e.getMessage()
                    + "): point --device at a KVM device node");
        }
    }

    int checkExtension(int cap) {
        return Native.ioctl("KVM_CHECK_EXTENSION", fd, Ioctls.KVM_CHECK_EXTENSION, cap);
    }

    long vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** KVM_GET_SUPPORTED_CPUID, cached: the raw kvm_cpuid2 (header + entries), ready for KVM_SET_CPUID2. */
    byte[] supportedCpuid() {
        if (supportedCpuid == null) {
            int max = 256;
            try (Arena arena = Arena.ofConfined()) {
                long size = Layouts.KVM_CPUID2.byteSize() + max * Layouts.KVM_CPUID_ENTRY2.byteSize();
                MemorySegment buf = arena.allocate(size, 8);
                buf.set(JAVA_INT, 0, max);
                Native.ioctl(arena, "KVM_GET_SUPPORTED_CPUID", fd, Ioctls.KVM_GET_SUPPORTED_CPUID, buf);
                int nent = buf.get(JAVA_INT, 0);
                long used = Layouts.KVM_CPUID2.byteSize() + nent * Layouts.KVM_CPUID_ENTRY2.byteSize();
                supportedCpuid = buf.asSlice(0, used).toArray(JAVA_BYTE);
            }
        }
        return supportedCpuid;
    }

    private void checkOpen() {
        if (closed) {
            throw new HvException("/dev/kvm ioctl", Errno.EBADF.number(), "the KVM handle is closed");
        }
    }

    @Override
    public String backend() {
        return "kvm";
    }

    @Override
    public HostInfo host() {
        checkOpen();
        if (host == null) {
            host = new HostInfo(Native.kernelRelease(), apiVersion, clockVcpu().getTscKhz(),
                    readLine(CLOCKSOURCE), readLine(BOOT_ID));
        }
        return host;
    }

    private static String readLine(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "unknown (" + p + ": " + e.getMessage() + ")";
        }
    }

    @Override
    public ClockCapabilities capabilities() {
        checkOpen();
        return new ClockCapabilities(capabilities.adjustClockFlags(), capabilities.tscControl(),
                capabilities.vmTscControl(), capabilities.kvmclockCtrl(), capabilities.vcpuAttributes(),
                clockGuestSupported());
    }

    private Boolean clockGuest;

    /**
     * Whether KVM_GET_CLOCK_GUEST exists. A kernel without it and a VM without a master clock both answer
     * EINVAL (kvm_arch_vcpu_ioctl's default), so ask the clock VM, whose vCPU has run and whose master clock
     * is checked first with KVM_GET_CLOCK's TSC_STABLE flag: EINVAL with the master clock on means "no such
     * ioctl". Without a master clock the question cannot be answered, and this says false.
     */
    private boolean clockGuestSupported() {
        if (clockGuest == null) {
            KvmVcpu v = clockVcpu();
            ClockData c = clockVm.getClock();
            if (!c.has(ClockData.TSC_STABLE)) {
                return false;
            }
            try {
                v.getClockGuest();
                clockGuest = true;
            } catch (HvException e) {
                if (!e.is(Errno.EINVAL) && !e.is(Errno.ENOTTY)) {
                    throw e;
                }
                clockGuest = false;
            }
        }
        return clockGuest;
    }

    /** The clock VM's vCPU, created on first use and run once to a HLT so KVM has computed its pvclock. */
    private KvmVcpu clockVcpu() {
        if (clockVm == null) {
            KvmVm vm = new KvmVm(this, VmConfig.defaults());
            try {
                KvmVcpu v = (KvmVcpu) vm.createVcpu(0);
                vm.memory().write(0x1000, new byte[] {(byte) 0xf4}); // hlt
                v.resetToRealMode(0x1000);
                VcpuExit exit = v.run();
                if (!(exit instanceof VcpuExit.Halt)) {
                    throw new IllegalStateException("the clock VM's one-byte HLT guest exited with " + exit);
                }
            } catch (RuntimeException e) {
                vm.close();
                throw e;
            }
            clockVm = vm;
        }
        return (KvmVcpu) clockVm.vcpus().getFirst();
    }

    @Override
    public Vm createVm(VmConfig config) {
        checkOpen();
        KvmVm vm = new KvmVm(this, config);
        vms.add(vm);
        return vm;
    }

    void forget(KvmVm vm) {
        vms.remove(vm);
    }

    int createVmFd() {
        return Native.ioctl("KVM_CREATE_VM", fd, Ioctls.KVM_CREATE_VM, 0);
    }

    @Override
    public void elapse(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("cannot elapse a negative time: " + nanos + " ns");
        }
        try {
            Thread.sleep(Duration.ofNanos(nanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while letting time pass", e);
        }
    }

    /**
     * host TSC and CLOCK_REALTIME come from one KVM_GET_CLOCK on the clock VM: with the master clock the kernel
     * reads both at one instant (kvm_get_walltime_and_clockread) and sets HOST_TSC|REALTIME. CLOCK_MONOTONIC_RAW
     * cannot be read at that instant from user space: it is the midpoint of clock_gettime calls bracketing the
     * ioctl, so it is off by at most half the ioctl's duration (about a microsecond).
     */
    /** The scaling kind follows the CPU vendor (VMX on Intel, SVM on AMD), where the kernel can scale at all. */
    @Override
    public Optional<TscScaling> tscScaling() {
        checkOpen();
        if (!capabilities.tscControl()) {
            return Optional.empty();
        }
        return Optional.of(HostProfile.scalingFormat(HostProbe.cpuinfo("vendor_id")));
    }

    /** A low real-time priority: above every SCHED_OTHER process, below the kernel's own real-time threads. */
    private static final int BLACKOUT_PRIORITY = 10;

    @Override
    public Boost boostCurrentThread() {
        checkOpen();
        if (Native.schedPolicy() != Native.SCHED_OTHER || !Native.setSchedPolicy(Native.SCHED_FIFO | Native.SCHED_RESET_ON_FORK, BLACKOUT_PRIORITY)) {
            return Boost.NONE; // already real-time (nothing to undo), or not permitted
        }
        return new Boost() {
            private boolean open = true;

            @Override
            public boolean granted() {
                return true;
            }

            @Override
            public void close() {
                if (open) {
                    open = false;
                    Native.setSchedPolicy(Native.SCHED_OTHER, 0);
                }
            }
        };
    }

    @Override
    public long ioctlNanos() {
        return Native.ioctlNanos();
    }

    @Override
    public long stopwatchNs() {
        return System.nanoTime();
    }

    @Override
    public long monotonicRawNs() {
        checkOpen();
        return Native.monotonicRawNs();
    }

    @Override
    public HostClocks readHostClocks() {
        checkOpen();
        clockVcpu();
        try (Arena arena = Arena.ofConfined()) {
            long raw0 = Native.clockGettime(arena, Native.CLOCK_MONOTONIC_RAW);
            ClockData c = clockVm.getClock();
            long raw1 = Native.clockGettime(arena, Native.CLOCK_MONOTONIC_RAW);
            if (!c.has(ClockData.HOST_TSC) || !c.has(ClockData.REALTIME)) {
                throw new HvUnavailableException(String.format(
                        "KVM_GET_CLOCK gave no host TSC (flags 0x%x): the master clock is off, usually because "
                                + "the host clocksource is not tsc (see %s)", c.flags(), CLOCKSOURCE));
            }
            return new HostClocks(c.hostTsc(), raw0 + (raw1 - raw0) / 2, c.realtime());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KvmVm vm : List.copyOf(vms)) {
            vm.close();
        }
        if (clockVm != null) {
            clockVm.close();
            clockVm = null;
        }
        Native.close(fd);
    }
}
