package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.state.ClockState;

/** Writes every vCPU's planned TSC offset from one destination KVM_GET_CLOCK reading. */
final class Offsets {
    private Offsets() {}

    static ClockData apply(RestoreTarget t, ClockState saved, TscPlan plan) {
        ClockData now = t.vm().getClock();
        for (int i = 0; i < t.vcpus().size(); i++) {
            t.vcpus().get(i).setTscOffset(plan.offsetFor(saved, i, now));
        }
        return now;
    }

    /** The host TSC kept counting since the capture: the same boot (live update) or a kexec on the same host. */
    static boolean hostTscContinues(RestoreTarget t, ClockState saved) {
        return saved.placementOn(t.hypervisor().host(), t.hypervisor().readHostClocks()).kind().isLiveUpdate();
    }
}
