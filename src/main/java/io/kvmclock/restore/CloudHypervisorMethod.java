package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.state.ClockState;
import java.util.ArrayList;
import java.util.List;

/**
 * Cloud Hypervisor (vmm/src/vm.rs, cpu.rs): the saved MSRs (IA32_TSC) with the vCPU state, KVM_SET_CLOCK
 * with the saved clock and KVM_CLOCK_REALTIME always, then vCPU0's KVM_VCPU_TSC_OFFSET copied to every vCPU
 * so that their TSCs match and the master clock engages. KVMCLOCK_CTRL is its pause step, on the source.
 */
public record CloudHypervisorMethod() implements RestoreMethod {
    @Override
    public String name() {
        return "cloud-hypervisor";
    }

    @Override
    public String summary() {
        return "Cloud Hypervisor: IA32_TSC by KVM_SET_MSRS, KVM_SET_CLOCK(saved, REALTIME), vCPU0's TSC offset to all";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return DowntimePolicy.ADVANCE;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return DowntimePolicy.FREEZE;
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < t.vcpus().size(); i++) {
            t.vcpus().get(i).setMsr(Vcpu.MSR_IA32_TSC, saved.vcpus().get(i).guestTsc());
        }
        ClockData s = saved.clock();
        t.vm().setClock(new ClockData(s.clock(), ClockData.REALTIME, s.realtime(), 0));
        if (t.vcpus().size() > 1) {
            long off0 = t.vcpus().getFirst().getTscOffset();
            for (Vcpu v : t.vcpus().subList(1, t.vcpus().size())) {
                v.setTscOffset(off0);
            }
            notes.add("copied vCPU0's TSC offset to " + (t.vcpus().size() - 1) + " vCPU(s)");
        }
        return RestoreReport.simple(name(), notes);
    }
}
