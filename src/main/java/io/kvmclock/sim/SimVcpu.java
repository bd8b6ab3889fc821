package io.kvmclock.sim;

import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * struct kvm_vcpu_arch's clock part and the vCPU ioctls. {@link #run()} serves the entry requests and runs
 * the guest, a {@link ClockGuestProgram}; the guest's own clock reads at the end are the model's observation API.
 */
public final class SimVcpu implements Vcpu {


    final SimVm vm;
    final int id;
    private boolean closed;

    long virtualTscKhz;
    private TimeScale virtualTscScale;
    /** l1_tsc_scaling_ratio: unscaled is the ratio 1.0 (kvm_caps.default_tsc_scaling_ratio). */
    TscRate l1TscRate = TscRate.UNSCALED;
    long l1TscOffset;
    long thisTscGeneration;

    boolean requestMasterclockUpdate;
    boolean requestGlobalClockUpdate;
    boolean requestClockUpdate;
    private long seenClockEpoch;
    private long seenMasterclockEpoch;

    long hwTscHz;
    /** The scale of the last kvm_guest_time_update; none before the first. */
    private Optional<TimeScale> pvclockScale = Optional.empty();
    long systemTimeMsr;
    boolean pvTimeActive;
    boolean guestStoppedRequest;
    /** How many times kvm_guest_time_update ran for this vCPU. */
    long timeUpdates;

    private final ClockGuestProgram guest = new ClockGuestProgram(this);

    SimVcpu(SimVm vm, int id) {
        this.vm = vm;
        this.id = id;
        this.seenClockEpoch = vm.clockUpdateEpoch;
        this.seenMasterclockEpoch = vm.masterclockUpdateEpoch;
    }

    private Optional<TscScaling> scaling() {
        return vm.host.config.tscScaling();
    }

    // ---- kernel helpers ----

    /** kvm_scale_tsc + l1 offset: kvm_read_l1_tsc. */
    long readL1Tsc(long hostTsc) {
        return l1TscRate.scale(hostTsc) + l1TscOffset;
    }

    /** kvm_compute_l1_tsc_offset: target - scale(rdtsc). */
    long computeL1TscOffset(long target) {
        return target - readL1Tsc(vm.host.tsc()) + l1TscOffset;
    }

    long nsecToCycles(long ns) {
        return virtualTscScale.scaleDelta(ns);
    }

    /** The pvclock scale in force: the last time update's, or before any the one it would compute now. */
    TimeScale pvclockScale() {
        return pvclockScale.orElseGet(() -> TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, targetHz()));
    }

    /** The guest TSC now. */
    public long guestTsc() {
        return readL1Tsc(vm.host.tsc());
    }

    /**
     * The guest TSC rate kvm_guest_time_update builds the pvclock from. 6.18 scales tsc_khz and multiplies
     * by 1000 afterwards (2,499,999 kHz for 2.5 GHz on a 3 GHz host); the KVM_[GS]ET_CLOCK_GUEST series
     * scales in Hz ("KVM: x86: Improve accuracy of KVM clock when TSC scaling is in force", patch 02 of
     * the same series), so a host with clockGuest uses Hz.
     */
    private long targetHz() {
        long khz = vm.host.tscKhz();
        if (vm.host.config.clockGuest()) {
            return Math.max(1, l1TscRate.scale(khz * 1000L));
        }
        return Math.max(1, l1TscRate.scale(khz)) * 1000L;
    }

    /** kvm_set_tsc_khz / set_tsc_khz: false when the kernel returns -1. */
    boolean setTscKhzInternal(long userKhz) {
        virtualTscScale = TimeScale.kvmGetTimeScale(userKhz * 1000L, TimeScale.NSEC_PER_SEC);
        virtualTscKhz = userKhz;
        long hostKhz = vm.host.tscKhz();
        if (scaling().isEmpty() && TscRate.needsScaling(userKhz, hostKhz)) {
            if (userKhz > hostKhz) {
                throw new HvException("KVM_SET_TSC_KHZ", Errno.EOPNOTSUPP.number(),
                        "the kernel would enter TSC catch-up mode, which the model does not implement");
            }
            return false;
        }
        try {
            l1TscRate = TscRate.of(scaling(), userKhz, hostKhz);
        } catch (IllegalArgumentException e) {
            return false; // set_tsc_khz refuses the ratio and leaves the old one
        }
        return true;
    }

    /** vcpu_enter_guest's request handling, in its order. */
    void serveRequestsAtEntry() {
        if (seenMasterclockEpoch != vm.masterclockUpdateEpoch) {
            seenMasterclockEpoch = vm.masterclockUpdateEpoch;
            requestMasterclockUpdate = true;
        }
        if (requestMasterclockUpdate) {
            requestMasterclockUpdate = false;
            vm.updateMasterclock();
        }
        if (requestGlobalClockUpdate) {
            requestGlobalClockUpdate = false;
            requestClockUpdate = true;
            vm.scheduleClockUpdateWork(SimVm.KVMCLOCK_UPDATE_DELAY_NS);
        }
        if (takeClockUpdate()) {
            guestTimeUpdate();
        }
    }

    /** v6 kvm_start_pvclock_update: the request is served for every vCPU at once. */
    void clearMasterclockRequest() {
        requestMasterclockUpdate = false;
        seenMasterclockEpoch = vm.masterclockUpdateEpoch;
    }

    private boolean takeClockUpdate() {
        boolean r = requestClockUpdate || seenClockEpoch != vm.clockUpdateEpoch;
        requestClockUpdate = false;
        seenClockEpoch = vm.clockUpdateEpoch;
        return r;
    }

    /** kvm_guest_time_update: computes hv_clock and writes it to the guest like kvm_setup_guest_pvclock. */
    void guestTimeUpdate() {
        timeUpdates++;
        boolean master = vm.useMasterClock;
        long hostTsc;
        long kernelNs;
        if (master) {
            hostTsc = vm.masterCycleNow;
            kernelNs = vm.masterKernelNs;
        } else {
            hostTsc = vm.host.tsc();
            kernelNs = vm.host.kvmclockBaseAt(hostTsc);
        }
        long tscTimestamp = readL1Tsc(hostTsc);
        long tgt = targetHz();
        if (hwTscHz != tgt) {
            pvclockScale = Optional.of(TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, tgt));
            hwTscHz = tgt;
        }
        int flags = master && vm.pvclockTscStable() ? PvclockTimeInfo.FLAG_TSC_STABLE : 0;
        if (!pvTimeActive) {
            return;
        }
        if (guestStoppedRequest) {
            flags |= PvclockTimeInfo.FLAG_GUEST_STOPPED;
            guestStoppedRequest = false;
        }
        long gpa = systemTimeMsr & ~1L;
        SimMemory m = vm.memory;
        if (!m.contains(gpa, PvclockTimeInfo.SIZE)) {
            return;
        }
        int at = (int) gpa;
        int version = (m.u32(at) + 1) | 1;
        m.putU32(at, version);
        flags |= m.bytes[at + 29] & PvclockTimeInfo.FLAG_GUEST_STOPPED;
        m.putU32(at + 4, 0);
        m.putU64(at + 8, tscTimestamp);
        m.putU64(at + 16, kernelNs + vm.kvmclockOffset);
        TimeScale scale = pvclockScale();
        m.putU32(at + 24, (int) scale.mul());
        m.bytes[at + 28] = (byte) scale.shift();
        m.bytes[at + 29] = (byte) flags;
        m.bytes[at + 30] = 0;
        m.bytes[at + 31] = 0;
        m.putU32(at, version + 1);
    }

    // ---- vCPU ioctls ----

    private void enter(String call) {
        checkOpen(call);
        vm.hv.latency(call);
    }

    private void checkOpen(String call) {
        if (closed || vm.isClosed()) {
            throw new HvException(call, Errno.EBADF.number(), "the vCPU or its VM is closed");
        }
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public long getTscKhz() {
        enter("KVM_GET_TSC_KHZ");
        return virtualTscKhz;
    }

    @Override
    public void setTscKhz(long khz) {
        enter("KVM_SET_TSC_KHZ");
        long user = khz & 0xFFFF_FFFFL;
        if (vm.exceedsMaxGuestKhz(user)) {
            throw new HvException("KVM_SET_TSC_KHZ", Errno.EINVAL.number(), user + " kHz is beyond TSC scaling's reach");
        }
        if (user == 0) {
            user = vm.host.tscKhz();
        }
        long before = guestTsc();
        if (!setTscKhzInternal(user)) {
            throw new HvException("KVM_SET_TSC_KHZ", Errno.EINVAL.number(), user + " kHz on a " + vm.host.tscKhz()
                    + " kHz host needs TSC scaling " + (scaling().isEmpty() ? "this host lacks" : "beyond its range"));
        }
        if (vm.v6()) {
            // v6 patch 30: the guest TSC sampled before the ratio changed is written back through
            // kvm_synchronize_tsc, so it stays continuous and the frequency change is tracked for matching
            vm.synchronizeTsc(this, OptionalLong.of(before));
        }
    }

    /** kvm_arch_tsc_get_attr(KVM_VCPU_TSC_SCALE): v6 patch 09; ENXIO without TSC control or on 6.18. */
    @Override
    public TscScale getTscScale() {
        enter("KVM_GET_DEVICE_ATTR");
        if (!vm.v6() || scaling().isEmpty()) {
            throw new HvException("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_SCALE)", Errno.ENXIO.number(),
                    vm.v6() ? "no TSC control on this host" : "no such attribute before the v6 series");
        }
        TscScaling s = scaling().get();
        return new TscScale(switch (l1TscRate) {
            case TscRate.Unscaled u -> s.defaultRatio();
            case TscRate.Scaled r -> r.ratio();
        }, s.fracBits());
    }

    @Override
    public long getTscOffset() {
        enter("KVM_GET_DEVICE_ATTR");
        return l1TscOffset;
    }

    /** kvm_arch_tsc_set_attr(KVM_VCPU_TSC_OFFSET). */
    @Override
    public void setTscOffset(long offset) {
        enter("KVM_SET_DEVICE_ATTR");
        boolean matched = virtualTscKhz != 0 && vm.lastTscKhz == virtualTscKhz && vm.lastTscOffset == offset;
        long tsc = l1TscRate.scale(vm.host.tsc()) + offset;
        long ns = vm.baseNs();
        vm.userSetTsc = true;
        vm.synchronizeTscCommit(this, offset, tsc, ns, matched);
    }

    @Override
    public long getMsr(int index) {
        enter("KVM_GET_MSRS");
        return switch (index) {
            case MSR_IA32_TSC -> guestTsc();
            case MSR_KVM_SYSTEM_TIME_NEW -> systemTimeMsr;
            default -> throw new HvException("KVM_GET_MSRS", Errno.EINVAL.number(),
                    "MSR 0x" + Integer.toHexString(index) + " is not modelled");
        };
    }

    @Override
    public void setMsr(int index, long value) {
        enter("KVM_SET_MSRS");
        switch (index) {
            case MSR_IA32_TSC -> {
                // kvm_pvm: the host write succeeds and changes nothing (measured: no new reference either)
                if (!vm.host.config.tscWritesIgnored()) {
                    vm.synchronizeTsc(this, OptionalLong.of(value));
                }
            }
            case MSR_KVM_SYSTEM_TIME_NEW -> writeSystemTime(value);
            default -> throw new HvException("KVM_SET_MSRS", Errno.EINVAL.number(),
                    "MSR 0x" + Integer.toHexString(index) + " is not modelled");
        }
    }

    /** kvm_write_system_time: 6.18 files a global update on every write, v6 (patch 25) a local one on enable. */
    void writeSystemTime(long value) {
        systemTimeMsr = value;
        pvTimeActive = (value & 1) != 0;
        if (!vm.v6()) {
            requestGlobalClockUpdate = true;
        } else if (pvTimeActive) {
            requestClockUpdate = true;
        }
    }

    /** kvm_set_guest_paused. */
    @Override
    public void kvmclockCtrl() {
        enter("KVM_KVMCLOCK_CTRL");
        if (!pvTimeActive) {
            throw new HvException("KVM_KVMCLOCK_CTRL", Errno.EINVAL.number(), "the guest has not enabled kvmclock");
        }
        guestStoppedRequest = true;
        requestClockUpdate = true;
    }

    /** kvm_vcpu_ioctl_get_clock_guest (proposed; docs/kvm-clock.md, "The clock ioctls"). */
    @Override
    public PvclockTimeInfo getClockGuest() {
        enter("KVM_GET_CLOCK_GUEST");
        if (!vm.host.config.clockGuest()) {
            throw new HvException("KVM_GET_CLOCK_GUEST", Errno.EINVAL.number(), "unknown vCPU ioctl on this kernel");
        }
        if (takeClockUpdate() || hwTscHz == 0) {
            guestTimeUpdate();
        }
        if (!vm.useMasterClock) {
            throw new HvException("KVM_GET_CLOCK_GUEST", Errno.EINVAL.number(), "no master clock");
        }
        // the flags: v5 always TSC_STABLE (the master clock is on here), v6 (patch 22) all_vcpus_matched_tsc
        return vm.masterPvclock(this);
    }

    /** kvm_vcpu_ioctl_set_clock_guest (proposed; docs/kvm-clock.md, "The clock ioctls"). */
    @Override
    public void setClockGuest(PvclockTimeInfo p) {
        enter("KVM_SET_CLOCK_GUEST");
        String call = "KVM_SET_CLOCK_GUEST";
        if (!vm.host.config.clockGuest()) {
            throw new HvException(call, Errno.EINVAL.number(), "unknown vCPU ioctl on this kernel");
        }
        if (!p.padsZero()) {
            throw new HvException(call, Errno.EINVAL.number(), "non-zero padding");
        }
        if (p.mul() == 0) {
            throw new HvException(call, Errno.EINVAL.number(), "tsc_to_system_mul is 0");
        }
        int maxShift = vm.v6() ? 31 : 32; // v6 narrowed v5's -32..32
        if (p.shift() < -maxShift || p.shift() > maxShift) {
            throw new HvException(call, Errno.EINVAL.number(), "tsc_shift " + p.shift() + " outside -" + maxShift + ".." + maxShift);
        }
        long userHz = p.scale().toHz();
        vm.startPvclockUpdate();
        vm.pvclockUpdateVmGtodCopy();
        try {
            if (!vm.useMasterClock) {
                throw new HvException(call, Errno.EINVAL.number(), "no master clock");
            }
            long currHz = l1TscRate.scale(vm.host.tscKhz() * 1000L);
            if (Long.compareUnsigned(userHz, currHz - 1000) < 0 || Long.compareUnsigned(userHz, currHz + 1000) > 0) {
                throw new HvException(call, Errno.ERANGE.number(),
                        "the pvclock encodes " + userHz + " Hz, the vCPU runs at " + currHz + " Hz");
            }
            long guestTsc = readL1Tsc(vm.masterCycleNow);
            if (vm.v6() && Long.compareUnsigned(guestTsc, p.tscTimestamp()) < 0) {
                throw new HvException(call, Errno.EINVAL.number(), "the guest TSC " + Long.toUnsignedString(guestTsc)
                        + " is below the pvclock's tsc_timestamp " + Long.toUnsignedString(p.tscTimestamp()));
            }
            long userClockNs = p.read(guestTsc);
            vm.kvmclockOffset = userClockNs - vm.masterKernelNs;
        } finally {
            vm.requestClockUpdateAll();
        }
    }

    @Override
    public void resetToRealMode(long entry) {
        enter("KVM_SET_SREGS");
        guest.reset(entry);
    }

    @Override
    public CpuState saveCpuState() {
        enter("KVM_GET_REGS");
        return guest.save();
    }

    @Override
    public void restoreCpuState(CpuState state) {
        enter("KVM_SET_REGS");
        guest.restore(state);
    }

    /** KVM_RUN with a signal pending: the requests are served, the guest does not run. */
    @Override
    public void serveRequests() {
        checkOpen("KVM_RUN");
        long entry = vm.host.world.draw(vm.host.config.latency().vcpuEntry());
        serveRequestsAtEntry();
        vm.hv.charge(entry);
    }

    /**
     * KVM_RUN: serve the requests at entry, then run the clock guest to its next exit.
     *
     * <p>vcpu_enter_guest serves the clock requests (a new master clock reference, kvm_guest_time_update)
     * before the rest of the entry path, so the guest's first RDTSC comes strictly after the reference it was
     * written with. The fitted KVM_RUN round trip is split at a uniformly drawn point: the part before the
     * guest runs, the rest on the way back to user space. A fixed split would put the guest's RDTSC a fixed
     * number of cycles after the reference for each of the few fitted latencies, and so fix the
     * sub-nanosecond phase of the pvclock's truncation there, which on hardware is random (docs/model.md,
     * "The lean").
     */
    @Override
    public VcpuExit run() {
        checkOpen("KVM_RUN");
        long entry = vm.host.world.draw(vm.host.config.latency().vcpuEntry());
        serveRequestsAtEntry();
        long beforeGuest = vm.host.world.draw(new Distribution.Uniform(entry / 2, entry / 2));
        vm.hv.charge(beforeGuest);
        VcpuExit exit = guest.run();
        vm.hv.charge(entry - beforeGuest);
        return exit;
    }

    @Override
    public void close() {
        closed = true;
    }

    // ---- the guest's own clock read (model extension) ----

    /**
     * What the guest's kvmclock read returns right now on this vCPU: RDTSC and the pvclock at the address it
     * enabled, with pvclock_clocksource_read's version check; empty when kvmclock is not enabled.
     */
    public OptionalLong guestKvmclockNs() {
        long tsc = guestTsc();
        Optional<PvclockTimeInfo> p = guestPvclock();
        if (p.isEmpty()) {
            return OptionalLong.empty();
        }
        if ((p.get().version() & 1) != 0) {
            throw new IllegalStateException("pvclock version odd during a single-threaded read");
        }
        return OptionalLong.of(p.get().read(tsc));
    }

    /**
     * The pvclock currently in guest memory (decoded); empty when kvmclock is not enabled or its address is
     * outside guest memory (kvm_guest_time_update then writes nothing).
     */
    public Optional<PvclockTimeInfo> guestPvclock() {
        long gpa = systemTimeMsr & ~1L;
        if (!pvTimeActive || !vm.memory.contains(gpa, PvclockTimeInfo.SIZE)) {
            return Optional.empty();
        }
        return Optional.of(PvclockTimeInfo.decode(vm.memory.read(gpa, PvclockTimeInfo.SIZE)));
    }

    public long virtualTscKhz() {
        return virtualTscKhz;
    }

    public long timeUpdates() {
        return timeUpdates;
    }

}
