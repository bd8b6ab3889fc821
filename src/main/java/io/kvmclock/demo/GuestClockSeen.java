package io.kvmclock.demo;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;

/**
 * What a fresh clock guest sees of the host's clock, fixed by the host and not by timing, so the demo on
 * real KVM and on the model of the same host print the same: KVM_GET_CLOCK flags before the vCPU's first
 * KVM_RUN and after it, and the guest's pvclock mul/shift and flags.
 */
public record GuestClockSeen(int clockFlagsBeforeRun, int clockFlagsAfterRun, TimeScale scale, int pvclockFlags) {

    /** Boots one clock guest on {@code hv} and looks. */
    public static GuestClockSeen look(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            var vcpu = vm.createVcpu(0);
            int before = vm.getClock().flags();
            ClockGuest g = ClockGuest.boot(vm, vcpu);
            g.readTsc();
            PvclockTimeInfo p = g.readPvclock();
            return new GuestClockSeen(before, vm.getClock().flags(), p.scale(), p.flags());
        }
    }
}
