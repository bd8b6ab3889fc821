package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.TscRate;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU (target/i386/kvm, hw/i386/kvm/clock.c): per vCPU KVM_SET_TSC_KHZ where the kernel can scale (else it
 * checks the rate is within 250 ppm), the saved IA32_TSC through KVM_SET_MSRS, then KVM_SET_CLOCK with the
 * saved clock and flags 0, and KVMCLOCK_CTRL on every vCPU. Guest time freezes across the blackout, from
 * where the clock was saved: QEMU saves it at the stop, but when migrating a running guest reads it again at
 * the device-state save after the final RAM pass (kvmclock_pre_save), so that pass still counts; measured
 * against real QEMU 7.2 by `kvmclock peer qemu` (docs/qemu-peer.md).
 */
public record QemuMethod() implements RestoreMethod {
    @Override
    public String name() {
        return "qemu";
    }

    @Override
    public String summary() {
        return "QEMU: IA32_TSC by KVM_SET_MSRS, KVM_SET_CLOCK(saved clock, flags 0), KVMCLOCK_CTRL";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return DowntimePolicy.FREEZE;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return DowntimePolicy.FREEZE;
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        List<String> notes = new ArrayList<>();
        boolean canScale = t.hypervisor().capabilities().tscControl();
        for (int i = 0; i < t.vcpus().size(); i++) {
            Vcpu v = t.vcpus().get(i);
            long khz = saved.vcpus().get(i).tscKhz();
            PeerSteps.setTscKhzLikeQemu(v, khz, canScale, notes);
            v.setMsr(Vcpu.MSR_IA32_TSC, saved.vcpus().get(i).guestTsc());
        }
        t.vm().setClock(new ClockData(saved.clock().clock(), 0, 0, 0));
        for (Vcpu v : t.vcpus()) {
            v.kvmclockCtrl();
        }
        return RestoreReport.simple(name(), notes);
    }
}

/** Steps the peer VMMs share. */
final class PeerSteps {
    private PeerSteps() {}

    /** QEMU's kvm_arch_set_tsc_khz: set it where scaling exists, else accept a rate within tolerance. */
    static void setTscKhzLikeQemu(Vcpu v, long khz, boolean canScale, List<String> notes) {
        if (canScale) {
            v.setTscKhz(khz);
            return;
        }
        long current = v.getTscKhz();
        if (TscRate.needsScaling(khz, current)) {
            throw new UnsupportedMethodException(UnsupportedReason.inThisRestore("the guest's TSC runs at " + khz
                    + " kHz, this host at " + current + " kHz, and this kernel cannot scale the TSC (no KVM_CAP_TSC_CONTROL)"));
        }
        if (current != khz) {
            notes.add("TSC " + current + " kHz here vs " + khz + " kHz saved: within 250 ppm, not scaled");
        }
    }

    /** Firecracker: KVM_SET_TSC_KHZ only when the saved rate is beyond 250 ppm of this host's. */
    static void setTscKhzLikeFirecracker(Vcpu v, long khz, List<String> notes) {
        long current = v.getTscKhz();
        if (TscRate.needsScaling(khz, current)) {
            v.setTscKhz(khz);
            notes.add("KVM_SET_TSC_KHZ " + khz);
        }
    }
}
