package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.state.Capture;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.state.ScaleReading;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Captures a paused guest's time state: KVM_GET_CLOCK first (its host_tsc is the capture instant every
 * offset computation refers to), then per vCPU the TSC offset, IA32_TSC, tsc_khz, KVM_VCPU_TSC_SCALE where
 * the kernel has it (the ratio recorded is then the kernel's, not one computed here), and the pvclock — from
 * KVM_GET_CLOCK_GUEST where the kernel has it and the master clock is on, else as the guest sees it in memory.
 */
public final class ClockCapture {
    private ClockCapture() {}

    public static ClockState capture(Hypervisor hv, Vm vm, List<Vcpu> vcpus, Function<Vcpu, PvclockTimeInfo> fromMemory,
                                     CaptureKind kind) {
        ClockCapabilities caps = hv.capabilities();
        HostClocks at = hv.readHostClocks();
        ClockData clock = vm.getClock();
        List<VcpuClockState> out = new ArrayList<>();
        for (Vcpu v : vcpus) {
            long offset = v.getTscOffset();
            long tsc = v.getMsr(Vcpu.MSR_IA32_TSC);
            long khz = v.getTscKhz();
            TscRate rate = hv.tscRateFor(khz);
            ScaleReading kernelScale = kernelScale(v);
            if (kernelScale instanceof ScaleReading.FromKernel k) {
                rate = k.scale().rate().orElse(rate);
            }
            out.add(new VcpuClockState(v.id(), offset, tsc, khz, rate, pvclock(caps, clock, v, fromMemory), kernelScale));
        }
        return ClockState.of(new Capture(kind, at), hv.host(), Optional.of(caps), clock, out);
    }

    /** KVM_VCPU_TSC_SCALE where the kernel has it (v6); ENXIO (6.18, or no TSC control) means not read. */
    private static ScaleReading kernelScale(Vcpu v) {
        try {
            return new ScaleReading.FromKernel(v.getTscScale());
        } catch (HvException e) {
            if (e.is(Errno.ENXIO)) {
                return new ScaleReading.NotRead();
            }
            throw e;
        }
    }

    private static GuestPvclock pvclock(ClockCapabilities caps, ClockData clock, Vcpu v, Function<Vcpu, PvclockTimeInfo> fromMemory) {
        if (caps.clockGuest() && clock.has(ClockData.TSC_STABLE)) {
            try {
                return new GuestPvclock.Captured(v.getClockGuest(), GuestPvclock.Source.KVM_GET_CLOCK_GUEST);
            } catch (HvException e) {
                // the master clock may have gone between the two calls: the guest's copy is still right
            }
        }
        PvclockTimeInfo p = fromMemory.apply(v);
        if (Arrays.equals(p.encode(), new byte[PvclockTimeInfo.SIZE])) {
            return new GuestPvclock.NotEnabled();
        }
        return new GuestPvclock.Captured(p, GuestPvclock.Source.GUEST_MEMORY);
    }
}
