package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.TscRate;
import java.util.Optional;

/** Writes every vCPU's planned TSC offset from one destination KVM_GET_CLOCK reading. */
final class Offsets {
    private Offsets() {}

    /** The unsupported reason of every method that writes KVM_VCPU_TSC_OFFSET: empty where the attribute exists. */
    static Optional<UnsupportedReason> needsOffsetAttribute(ClockCapabilities caps) {
        return caps.vcpuAttributes() ? Optional.empty()
                : Optional.of(UnsupportedReason.onThisKernel("needs KVM_CAP_VCPU_ATTRIBUTES (the TSC offset attribute)"));
    }

    static ClockData apply(RestoreTarget t, ClockState saved, TscPlan plan) {
        ClockData now = engageMasterClock(t, saved);
        apply(t, saved, plan, now, false);
        return now;
    }

    /**
     * As {@link #apply(RestoreTarget, ClockState, TscPlan)} from a KVM_GET_CLOCK reading already taken; true when
     * it wrote any offset. With {@code verify}, an offset the kernel did not take is an error. An offset
     * the vCPU already has is not written again: such a write would only start a new TSC generation and file
     * one more master clock update (kvm_track_tsc_matching).
     */
    static boolean apply(RestoreTarget t, ClockState saved, TscPlan plan, ClockData now, boolean verify) {
        if (!now.has(ClockData.HOST_TSC)) {
            throw new RestoreFailedException("KVM_GET_CLOCK gives no host TSC on the destination (no master clock):"
                    + " TSC offsets cannot be planned");
        }
        boolean wrote = false;
        boolean known = t.prepared().knows(t.vcpus().size());
        for (int i = 0; i < t.vcpus().size(); i++) {
            long offset = plan.offsetFor(saved, i, now, rateOf(t, saved, i));
            Vcpu v = t.vcpus().get(i);
            long current = known ? t.prepared().tscOffsets().get(i) : v.getTscOffset();
            if (current != offset) {
                v.setTscOffset(offset);
                wrote = true;
                if (verify && v.getTscOffset() != offset) {
                    throw new RestoreFailedException("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET): the kernel accepted vCPU " + v.id() + "'s TSC offset " + offset
                            + " and ignored it (it still reads " + v.getTscOffset() + "; kvm_pvm does this): the"
                            + " guest TSC cannot be placed, so the kvmclock cannot be either");
                }
            }
        }
        return wrote;
    }

    /**
     * A fresh VM has no master clock until something runs pvclock_update_vm_gtod_copy: creating a vCPU only
     * files KVM_REQ_MASTERCLOCK_UPDATE, served at its first KVM_RUN. KVM_SET_CLOCK takes a new reference, and
     * so engages the master clock where the host allows it, without running a vCPU. Returns a KVM_GET_CLOCK
     * reading taken after that (with TSC_STABLE when the master clock is on).
     */
    static ClockData engageMasterClock(RestoreTarget t, ClockState saved) {
        return engageMasterClock(t, saved.clock().clock());
    }

    /** As {@link #engageMasterClock(RestoreTarget, ClockState)}, setting {@code clock} where it must set one. */
    static ClockData engageMasterClock(RestoreTarget t, long clock) {
        ClockData now = t.vm().getClock();
        if (now.has(ClockData.TSC_STABLE)) {
            return now;
        }
        t.vm().setClock(new ClockData(clock, 0, 0, 0));
        return t.vm().getClock();
    }

    /** The rate vCPU {@code i} runs at on the destination once it has its saved tsc_khz. */
    static TscRate rateOf(RestoreTarget t, ClockState saved, int i) {
        return t.hypervisor().tscRateFor(saved.vcpus().get(i).tscKhz());
    }

    /**
     * Gives every destination vCPU the guest TSC rate it had (KVM_SET_TSC_KHZ where it differs), as a VMM must
     * before anything else when the destination host runs at another rate. Returns true when any vCPU now
     * runs scaled (its rate is not the host's).
     */
    static boolean matchRates(RestoreTarget t, ClockState saved) {
        boolean scaled = false;
        boolean known = t.prepared().knows(t.vcpus().size());
        for (int i = 0; i < t.vcpus().size(); i++) {
            Vcpu v = t.vcpus().get(i);
            long want = saved.vcpus().get(i).tscKhz();
            long has = known ? t.prepared().tscKhz().get(i) : v.getTscKhz();
            if (has != want) {
                try {
                    v.setTscKhz(want);
                } catch (HvException e) {
                    throw new RestoreFailedException("vCPU " + v.id() + " ran at " + want + " kHz and this host cannot"
                            + " give it that rate (" + e.getMessage() + "): it needs TSC scaling (KVM_CAP_TSC_CONTROL)");
                }
            }
            scaled |= want != t.hypervisor().host().tscKhz();
        }
        return scaled;
    }

    /** The host TSC kept counting since the capture: the same boot (live update) or a kexec on the same host. */
    static boolean hostTscContinues(RestoreTarget t, ClockState saved) {
        return saved.placementOn(t.hypervisor().host(), t.hypervisor()::readHostClocks).kind().isLiveUpdate();
    }
}
