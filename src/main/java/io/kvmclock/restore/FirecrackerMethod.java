package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.state.ClockState;
import java.util.ArrayList;
import java.util.List;

/**
 * Firecracker (vmm/src/vstate): KVM_SET_TSC_KHZ if the saved rate is beyond 250 ppm, the saved MSRs
 * (IA32_TSC), KVMCLOCK_CTRL, then KVM_SET_CLOCK with the saved kvm_clock_data and flags 0, or with
 * KVM_CLOCK_REALTIME when the snapshot was restored with clock_realtime.
 */
public record FirecrackerMethod(boolean realtime) implements RestoreMethod {
    @Override
    public String name() {
        return realtime ? "firecracker-realtime" : "firecracker";
    }

    @Override
    public String summary() {
        return realtime
                ? "Firecracker (clock_realtime): IA32_TSC by KVM_SET_MSRS, KVMCLOCK_CTRL, KVM_SET_CLOCK(saved, REALTIME)"
                : "Firecracker: IA32_TSC by KVM_SET_MSRS, KVMCLOCK_CTRL, KVM_SET_CLOCK(saved, flags 0)";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return realtime ? DowntimePolicy.ADVANCE : DowntimePolicy.FREEZE;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return DowntimePolicy.FREEZE;
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < t.vcpus().size(); i++) {
            Vcpu v = t.vcpus().get(i);
            PeerSteps.setTscKhzLikeFirecracker(v, saved.vcpus().get(i).tscKhz(), notes);
            v.setMsr(Vcpu.MSR_IA32_TSC, saved.vcpus().get(i).guestTsc());
            v.kvmclockCtrl();
        }
        ClockData s = saved.clock();
        t.vm().setClock(realtime ? new ClockData(s.clock(), ClockData.REALTIME, s.realtime(), 0)
                : new ClockData(s.clock(), 0, 0, 0));
        return RestoreReport.simple(name(), notes);
    }
}
