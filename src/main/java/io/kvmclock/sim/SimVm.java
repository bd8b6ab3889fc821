package io.kvmclock.sim;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** struct kvm_arch of one VM, and its VM ioctls (arch/x86/kvm/x86.c). */
public final class SimVm implements Vm {
    static final long KVMCLOCK_UPDATE_DELAY_NS = 100_000_000L;
    static final long KVMCLOCK_SYNC_PERIOD_NS = 300_000_000_000L;
    /** arch/x86/include/asm/kvm_host.h: KVM_MAX_VCPU_IDS = KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO (4). */
    static final int KVM_VCPU_ID_RATIO = 4;

    final SimHypervisor hv;
    final SimHost host;
    final SimMemory memory;
    final List<SimVcpu> vcpus = new ArrayList<>();
    private boolean closed;

    long kvmclockOffset;
    long masterKernelNs;
    long masterCycleNow;
    boolean useMasterClock;
    boolean backwardsTscObserved;
    /** How many times pvclock_update_vm_gtod_copy took a reference (for tests and reports). */
    long referenceCount;

    int nrVcpusMatchedTsc;
    long curTscGeneration;
    long curTscNsec;
    long curTscWrite;
    long curTscOffset;
    long lastTscNsec;
    long lastTscWrite;
    long lastTscKhz;
    long lastTscOffset;
    boolean userSetTsc;
    long defaultTscKhz;

    /** A request made to all vCPUs is a bump of one of these; each vCPU remembers what it has served. */
    long clockUpdateEpoch;
    long masterclockUpdateEpoch;
    private boolean updateWorkPending;
    private long setClockCalls;

    SimVm(SimHypervisor hv, VmConfig config) {
        this.hv = hv;
        this.host = hv.host;
        this.memory = new SimMemory(config.memoryBytes());
        this.memory.bulkCost = (what, pages) -> host.world.advance(pages * host.world.draw(host.config.latency().of(what)));
        this.defaultTscKhz = host.tscKhz();
        // kvm_arch_init_vm
        this.kvmclockOffset = -host.kvmclockBaseAt(host.tsc());
        pvclockUpdateVmGtodCopy();
    }

    // ---- kernel internals ----

    /**
     * pvclock_update_vm_gtod_copy: one (raw ns, host TSC) reading and the master clock conditions. 6.18 needs
     * every vCPU's TSC matched (one generation); v6 (patches 22 and 24) needs matching frequencies only.
     */
    void pvclockUpdateVmGtodCopy() {
        boolean eligible = v6() ? vcpusMatchedFreq() : vcpusMatchedTsc();
        long tsc = host.tsc();
        masterCycleNow = tsc;
        masterKernelNs = host.kvmclockBaseAt(tsc);
        useMasterClock = host.config.tscClocksource() && eligible && !backwardsTscObserved;
        referenceCount++;
    }

    boolean v6() {
        return host.config.v6Series();
    }

    /** all_vcpus_matched_tsc: every vCPU in the current TSC generation (the first one starts it). */
    boolean vcpusMatchedTsc() {
        return nrVcpusMatchedTsc + 1 == vcpus.size();
    }

    /**
     * v6's all_vcpus_matched_freq. The kernel counts vCPUs per frequency generation; the model states the
     * condition that counting tracks: every vCPU runs at one guest TSC rate (vacuously true without vCPUs,
     * which is why a v6 VM has a master clock from kvm_arch_init_vm on).
     */
    boolean vcpusMatchedFreq() {
        for (SimVcpu v : vcpus) {
            SimVcpu first = vcpus.getFirst(); // vcpus is not empty inside the loop
            if (v.virtualTscKhz != first.virtualTscKhz || !v.l1TscRate.equals(first.l1TscRate)) {
                return false;
            }
        }
        return true;
    }

    /** PVCLOCK_TSC_STABLE_BIT in what the guest reads: with the master clock, and on v6 only when all TSCs match. */
    boolean pvclockTscStable() {
        return useMasterClock && (!v6() || vcpusMatchedTsc());
    }

    /** kvm_end_pvclock_update: KVM_REQ_CLOCK_UPDATE on every vCPU. */
    void requestClockUpdateAll() {
        clockUpdateEpoch++;
    }

    /** kvm_update_masterclock. */
    void updateMasterclock() {
        startPvclockUpdate();
        pvclockUpdateVmGtodCopy();
        requestClockUpdateAll();
    }

    /**
     * kvm_start_pvclock_update. On v6 (patch 27) it clears KVM_REQ_MASTERCLOCK_UPDATE on every vCPU: the
     * reference about to be taken serves them all, so vCPUs that had it pending (say from TSC offset writes
     * before a KVM_SET_CLOCK_GUEST) do not take another one at their next entry.
     */
    void startPvclockUpdate() {
        if (v6()) {
            for (SimVcpu v : vcpus) {
                v.clearMasterclockRequest();
            }
        }
    }

    /** schedule_delayed_work(kvmclock_update_work, delay): no-op when already pending. */
    void scheduleClockUpdateWork(long delayNs) {
        if (updateWorkPending) {
            return;
        }
        updateWorkPending = true;
        host.world.schedule(host.world.now() + delayNs, () -> {
            updateWorkPending = false;
            if (!closed) {
                requestClockUpdateAll();
            }
        });
    }

    private void scheduleKvmclockSync() {
        host.world.schedule(host.world.now() + KVMCLOCK_SYNC_PERIOD_NS, () -> {
            if (!closed) {
                scheduleClockUpdateWork(0);
                scheduleKvmclockSync();
            }
        });
    }

    private void scheduleMasterclockSync(long periodNs) {
        host.world.schedule(host.world.now() + periodNs, () -> {
            if (!closed) {
                masterclockUpdateEpoch++;
                scheduleMasterclockSync(periodNs);
            }
        });
    }

    /** get_kvmclock_base_ns now. */
    long baseNs() {
        return host.kvmclockBaseAt(host.tsc());
    }

    /** kvm_synchronize_tsc(vcpu, user_value): {@code userValue} empty for vCPU creation (the kernel's NULL). */
    void synchronizeTsc(SimVcpu v, OptionalLong userValue) {
        long data = userValue.orElse(0);
        long offset = v.computeL1TscOffset(data);
        long ns = baseNs();
        long elapsed = ns - lastTscNsec;
        boolean synchronizing = false;
        if (v.virtualTscKhz != 0) {
            if (data == 0) {
                synchronizing = true;
            } else if (userSetTsc) {
                long tscExp = lastTscWrite + v.nsecToCycles(elapsed);
                long tscHz = v.virtualTscKhz * 1000L;
                synchronizing = Long.compareUnsigned(data, tscExp + tscHz) < 0
                        && Long.compareUnsigned(data + tscHz, tscExp) > 0;
            }
        }
        if (userValue.isPresent()) {
            userSetTsc = true;
        }
        boolean matched = false;
        if (synchronizing && v.virtualTscKhz == lastTscKhz) {
            offset = curTscOffset;
            matched = true;
        }
        synchronizeTscCommit(v, offset, data, ns, matched);
    }

    /** __kvm_synchronize_tsc, then kvm_track_tsc_matching. */
    void synchronizeTscCommit(SimVcpu v, long offset, long tsc, long ns, boolean matched) {
        lastTscNsec = ns;
        lastTscWrite = tsc;
        lastTscKhz = v.virtualTscKhz;
        lastTscOffset = offset;
        // kvm_pvm: the bookkeeping above runs, the vendor keeps the guest on the native TSC (offset 0)
        v.l1TscOffset = host.config.tscWritesIgnored() ? 0 : offset;
        if (!matched) {
            curTscGeneration++;
            curTscNsec = ns;
            curTscWrite = tsc;
            curTscOffset = offset;
            nrVcpusMatchedTsc = 0;
        } else if (v.thisTscGeneration != curTscGeneration) {
            nrVcpusMatchedTsc++;
        }
        v.thisTscGeneration = curTscGeneration;
        trackTscMatching(v, !matched);
    }

    /** kvm_track_tsc_matching; v6 also files an update when all_vcpus_matched_tsc changes (the pvclock's STABLE bit). */
    private void trackTscMatching(SimVcpu v, boolean newGeneration) {
        boolean vcpusMatched = vcpusMatchedTsc();
        boolean use = (v6() ? vcpusMatchedFreq() : vcpusMatched) && host.config.tscClocksource();
        boolean request = host.config.hotplugForcesMasterclockUpdate()
                ? useMasterClock || use
                : (useMasterClock && newGeneration) || useMasterClock != use;
        if (v6()) {
            request |= vcpusMatched != lastMatchedTsc;
            lastMatchedTsc = vcpusMatched;
        }
        if (request) {
            v.requestMasterclockUpdate = true;
        }
    }

    /** v6: all_vcpus_matched_tsc as last tracked. */
    private boolean lastMatchedTsc;

    // ---- VM ioctls ----

    private void enter(String call) {
        if (isClosed()) {
            throw new HvException(call, Errno.EBADF.number(), "the VM is closed");
        }
        hv.latency(call);
    }

    /** kvm_vm_ioctl_get_clock / get_kvmclock. */
    @Override
    public ClockData getClock() {
        enter("KVM_GET_CLOCK");
        if (useMasterClock) {
            long hostTsc = host.tsc();
            long realtime = host.realtimeNs();
            long clock;
            if (v6() && !vcpus.isEmpty()) {
                // v6 patch 13: the host TSC delta is scaled to the guest's TSC and converted with the guest's
                // mul/shift, so KVM_GET_CLOCK returns what the guest reads (all vCPUs run at one rate here)
                SimVcpu v = vcpus.getFirst();
                clock = masterKernelNs + kvmclockOffset
                        + v.pvclockScale().scaleDelta(v.readL1Tsc(hostTsc) - v.readL1Tsc(masterCycleNow));
            } else {
                TimeScale hostScale = TimeScale.forGuestKhz(host.tscKhz());
                clock = masterKernelNs + kvmclockOffset + hostScale.scaleDelta(hostTsc - masterCycleNow);
            }
            return new ClockData(clock, ClockData.TSC_STABLE | ClockData.REALTIME | ClockData.HOST_TSC, realtime,
                    hostTsc);
        }
        return new ClockData(baseNs() + kvmclockOffset, 0, 0, 0);
    }

    /** kvm_vm_ioctl_set_clock, in the kernel's order (docs/kvm-clock.md, "The clock ioctls"). */
    @Override
    public void setClock(ClockData data) {
        enter("KVM_SET_CLOCK");
        if ((data.flags() & ~ClockData.VALID_FLAGS) != 0) {
            throw new HvException("KVM_SET_CLOCK", Errno.EINVAL.number(),
                    "flags 0x" + Integer.toHexString(data.flags()) + " outside 0x" + Integer.toHexString(ClockData.VALID_FLAGS));
        }
        startPvclockUpdate();
        pvclockUpdateVmGtodCopy();
        long clock = data.clock();
        setClockCalls++;
        if (data.has(ClockData.REALTIME)) {
            Latency l = host.config.latency();
            hv.charge(setClockCalls == 1 ? l.firstSetClockGap() : l.setClockGap());
            long nowReal = host.realtimeNs();
            if (Long.compareUnsigned(nowReal, data.realtime()) > 0) {
                clock += nowReal - data.realtime();
            }
        }
        long nowRaw = useMasterClock ? masterKernelNs : baseNs();
        kvmclockOffset = clock - nowRaw;
        requestClockUpdateAll();
    }

    @Override
    public long getTscKhz() {
        enter("KVM_GET_TSC_KHZ");
        if (!host.config.vmTscControl()) {
            throw new HvException("KVM_GET_TSC_KHZ", Errno.ENOTTY.number(), "no KVM_CAP_VM_TSC_CONTROL on this host");
        }
        return defaultTscKhz;
    }

    @Override
    public void setTscKhz(long khz) {
        enter("KVM_SET_TSC_KHZ");
        if (!host.config.vmTscControl()) {
            throw new HvException("KVM_SET_TSC_KHZ", Errno.ENOTTY.number(), "no KVM_CAP_VM_TSC_CONTROL on this host");
        }
        long user = khz & 0xFFFF_FFFFL;
        if (exceedsMaxGuestKhz(user)) {
            throw new HvException("KVM_SET_TSC_KHZ", Errno.EINVAL.number(), user + " kHz is beyond TSC scaling's reach");
        }
        if (!vcpus.isEmpty()) {
            throw new HvException("KVM_SET_TSC_KHZ", Errno.EINVAL.number(), "VM-scope KVM_SET_TSC_KHZ after vCPUs exist");
        }
        defaultTscKhz = user == 0 ? host.tscKhz() : user;
    }

    /** Beyond kvm_caps.max_guest_tsc_khz (TscScaling.maxGuestKhz). */
    boolean exceedsMaxGuestKhz(long userKhz) {
        return host.config.tscScaling().filter(s -> userKhz >= s.maxGuestKhz(host.tscKhz())).isPresent();
    }

    /** KVM_CREATE_VCPU: kvm_vm_ioctl_create_vcpu, kvm_arch_vcpu_create, kvm_arch_vcpu_postcreate. */
    @Override
    public Vcpu createVcpu(int id) {
        enter("KVM_CREATE_VCPU");
        int maxIds = host.config.maxVcpus() * KVM_VCPU_ID_RATIO;
        if (id < 0 || id >= maxIds) {
            throw new HvException("KVM_CREATE_VCPU", Errno.EINVAL.number(), "vCPU id " + id + " outside 0.." + (maxIds - 1));
        }
        if (vcpus.size() >= host.config.maxVcpus()) {
            throw new HvException("KVM_CREATE_VCPU", Errno.EINVAL.number(), "KVM_MAX_VCPUS (" + host.config.maxVcpus() + ") reached");
        }
        for (SimVcpu v : vcpus) {
            if (v.id == id) {
                throw new HvException("KVM_CREATE_VCPU", Errno.EEXIST.number(), "vCPU " + id + " exists");
            }
        }
        SimVcpu v = new SimVcpu(this, id);
        v.setTscKhzInternal(defaultTscKhz);
        vcpus.add(v);
        // vcpu_load on a pCPU it never ran on: KVM_REQ_GLOBAL_CLOCK_UPDATE (kvm_arch_vcpu_load); on v6 (patch 25)
        // in master-clock mode only this vCPU's own update, on its first load
        if (v6() && useMasterClock) {
            v.requestClockUpdate = true;
        } else {
            v.requestGlobalClockUpdate = true;
        }
        synchronizeTsc(v, OptionalLong.empty());
        if (vcpus.size() == 1) {
            if (host.config.kvmclockPeriodicSync()) {
                scheduleKvmclockSync();
            }
            if (host.config.masterclockSyncPeriodS() > 0) {
                scheduleMasterclockSync(host.config.masterclockSyncPeriodS() * 1_000_000_000L);
            }
        }
        return v;
    }

    /** How many master clock references (pvclock_update_vm_gtod_copy) this VM has taken: what a scenario counts. */
    public long referenceCount() {
        return referenceCount;
    }

    @Override
    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    @Override
    public SimMemory memory() {
        return memory;
    }

    @Override
    public void close() {
        if (!closed && !hv.isClosed()) {
            hv.latency("close");
        }
        closed = true;
    }

    boolean isClosed() {
        return closed || hv.isClosed();
    }

    // ---- model introspection (not ioctls) ----

    public boolean useMasterClock() {
        return useMasterClock;
    }

    /** The pvclock KVM would write for vCPU {@code v} now in master-clock mode (kvm_guest_time_update). */
    PvclockTimeInfo masterPvclock(SimVcpu v) {
        return PvclockTimeInfo.of(0, v.readL1Tsc(masterCycleNow), masterKernelNs + kvmclockOffset, v.pvclockScale(),
                pvclockTscStable() ? PvclockTimeInfo.FLAG_TSC_STABLE : 0);
    }
}
