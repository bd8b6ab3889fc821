package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.state.ClockState;

/** Writes every vCPU's planned TSC offset from one destination KVM_GET_CLOCK reading. */
final class Offsets {
    private Offsets() {}

    static ClockData apply(RestoreTarget t, ClockState saved, TscPlan plan) {
        ClockData now = engageMasterClock(t, saved);
        if (!now.has(ClockData.HOST_TSC)) {
            throw new RestoreFailedException("KVM_GET_CLOCK gives no host TSC on the destination (no master clock):"
                    + " TSC offsets cannot be planned");
        }
        for (int i = 0; i < t.vcpus().size(); i++) {
            t.vcpus().get(i).setTscOffset(plan.offsetFor(saved, i, now));
        }
        return now;
    }

    /**
     * A fresh VM has no master clock until something runs pvclock_update_vm_gtod_copy: creating a vCPU only
     * files KVM_REQ_MASTERCLOCK_UPDATE, served at its first KVM_RUN. KVM_SET_CLOCK takes a new reference, and
     * so engages the master clock where the host allows it, without running a vCPU. Returns a KVM_GET_CLOCK
     * reading taken after that (with TSC_STABLE when the master clock is on).
     */
    static ClockData engageMasterClock(RestoreTarget t, ClockState saved) {
        ClockData now = t.vm().getClock();
        if (now.has(ClockData.TSC_STABLE)) {
            return now;
        }
        t.vm().setClock(new ClockData(saved.clock().clock(), 0, 0, 0));
        return t.vm().getClock();
    }

    /** The host TSC kept counting since the capture: the same boot (live update) or a kexec on the same host. */
    static boolean hostTscContinues(RestoreTarget t, ClockState saved) {
        return saved.placementOn(t.hypervisor().host(), t.hypervisor().readHostClocks()).kind().isLiveUpdate();
    }
}
