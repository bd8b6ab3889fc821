package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.state.ScaleReading;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.U128;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The migration algorithm of Documentation/virt/kvm/devices/vcpu.rst as the v6 series rewrites it (patch 09;
 * docs/v6-series.md), step by step. Source (the capture): KVM_GET_CLOCK's host TSC, kvmclock and realtime;
 * each vCPU's offset and KVM_VCPU_TSC_SCALE, so {@code tsc_src = ((host_tsc_src * ratio) >> frac_bits) + ofs};
 * KVM_GET_CLOCK_GUEST on the boot vCPU. Destination: VM-scope KVM_SET_TSC_KHZ before the vCPUs exist
 * ({@link #beforeVcpus}); KVM_GET_CLOCK; {@code ΔT = time_dst - time_src}; per vCPU
 * {@code ofs_dst = tsc_src + ΔT * freq - ((host_tsc_dst * ratio_dst) >> frac_bits_dst)}; KVM_SET_CLOCK_GUEST on
 * the boot vCPU; where that is missing or fails, KVM_SET_CLOCK(guest_src, time_src, REALTIME), reported as a
 * fallback with the reason. {@link DocumentedMethod} keeps the 2021 text for kernels users still run.
 *
 * <p>Where a step cannot be done as written on this kernel, the method does the nearest thing and says so in
 * its notes: without KVM_VCPU_TSC_SCALE (6.18, no TSC control) the ratio is the one set_tsc_khz would program
 * (1.0 without scaling); a fresh 6.18 VM has no master clock, so KVM_GET_CLOCK has no host TSC until a
 * KVM_SET_CLOCK takes a reference.
 */
public record DocumentedV6Method() implements RestoreMethod {
    @Override
    public String name() {
        return "documented-v6";
    }

    @Override
    public String summary() {
        return "KVM docs, v6 series: offsets from KVM_VCPU_TSC_SCALE and tsc_src + dT*freq, KVM_SET_CLOCK_GUEST,"
                + " else KVM_SET_CLOCK(REALTIME)";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return DowntimePolicy.ADVANCE;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return DowntimePolicy.ADVANCE;
    }

    @Override
    public Optional<UnsupportedReason> unsupportedReason(ClockCapabilities caps) {
        return Offsets.needsOffsetAttribute(caps);
    }

    /**
     * Step 4: the VM's TSC frequency before any vCPU is created, where the kernel can set it at VM scope. A
     * refusal is left for {@link #restore} to find: it checks every vCPU's rate and sets it per vCPU.
     */
    @Override
    public void beforeVcpus(Hypervisor hv, Vm vm, ClockState saved) {
        if (hv.capabilities().vmTscControl()) {
            try {
                vm.setTscKhz(saved.vcpus().getFirst().tscKhz());
            } catch (HvException e) {
                // restore() gives each vCPU its rate, or says it cannot
            }
        }
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        List<String> notes = new ArrayList<>();
        // step 4 at VM scope covers every vCPU where the kernel has it; this gives any vCPU it missed its rate
        Offsets.matchRates(t, saved);
        ClockData dst = t.vm().getClock();
        if (!dst.has(ClockData.HOST_TSC)) {
            // 6.18 takes a fresh VM's first master clock reference at the first KVM_RUN; step 9 (or 8) sets the
            // clock afterwards, so this one only has to engage it
            dst = Offsets.engageMasterClock(t, saved);
            notes.add("KVM_GET_CLOCK had no host TSC on the fresh VM: engaged the master clock with one KVM_SET_CLOCK");
        }
        if (!dst.has(ClockData.HOST_TSC)) {
            throw new RestoreFailedException("KVM_GET_CLOCK gives no host TSC on the destination (no master clock):"
                    + " step 7's offsets cannot be computed");
        }
        ClockData src = saved.clock();
        long deltaT = dst.realtime() - src.realtime();
        boolean anyComputed = false;
        for (int i = 0; i < t.vcpus().size(); i++) {
            VcpuClockState v = saved.vcpus().get(i);
            long tscSrc = sourceRate(v).scale(src.hostTsc()) + v.tscOffset();
            long tscDst = tscSrc + Units.nsToCyclesSigned(deltaT, v.tscKhz());
            Vcpu vcpu = t.vcpus().get(i);
            Rate dstRate = destinationRate(t, saved, i, vcpu);
            anyComputed |= dstRate instanceof Rate.Computed;
            vcpu.setTscOffset(tscDst - dstRate.scale(dst.hostTsc()));
        }
        if (saved.vcpus().stream().anyMatch(v -> v.kernelScale() instanceof ScaleReading.NotRead)) {
            notes.add("the saved state has no KVM_VCPU_TSC_SCALE reading: the source ratio is the recorded one");
        }
        if (anyComputed) {
            notes.add("KVM_VCPU_TSC_SCALE unavailable here (ENXIO): the destination ratio is the one set_tsc_khz programs");
        }
        Optional<String> why = setClockGuest(t, saved);
        if (why.isEmpty()) {
            return new RestoreReport(name(), 1, OptionalLong.empty(), false, notes);
        }
        t.vm().setClock(new ClockData(src.clock(), ClockData.REALTIME, src.realtime(), 0));
        notes.addFirst(why.get() + ": fell back to KVM_SET_CLOCK(guest_src, time_src, REALTIME) (step 9)");
        return new RestoreReport(name(), 1, OptionalLong.empty(), true, notes);
    }

    /** Step 8; empty when it worked, else why not. */
    private static Optional<String> setClockGuest(RestoreTarget t, ClockState saved) {
        GuestPvclock pvti = saved.vcpus().getFirst().pvclock();
        boolean savedPvti = pvti instanceof GuestPvclock.Captured c && c.source() == GuestPvclock.Source.KVM_GET_CLOCK_GUEST;
        boolean here = t.hypervisor().capabilities().clockGuest();
        if (!here || !savedPvti) {
            return Optional.of((here ? "" : "KVM_SET_CLOCK_GUEST is missing on this kernel")
                    + (here || savedPvti ? "" : " and ")
                    + (savedPvti ? "" : "no KVM_GET_CLOCK_GUEST pvclock was saved (step 3 failed on the source)"));
        }
        try {
            t.vcpus().getFirst().setClockGuest(((GuestPvclock.Captured) pvti).pvclock());
            return Optional.empty();
        } catch (HvException e) {
            return Optional.of("KVM_SET_CLOCK_GUEST failed with " + Errno.describe(e.errno()));
        }
    }

    /**
     * {@code (tsc * ratio) >> frac_bits}: with KVM_VCPU_TSC_SCALE's own numbers as step 7 writes it, or where
     * the kernel has no such attribute with the rate KVM programs.
     */
    private sealed interface Rate {
        long scale(long tsc);

        record Read(TscScale s) implements Rate {
            @Override
            public long scale(long tsc) {
                return U128.mulShr(tsc, s.tscRatio(), (int) s.tscFracBits());
            }
        }

        record Computed(TscRate r) implements Rate {
            @Override
            public long scale(long tsc) {
                return r.scale(tsc);
            }
        }
    }

    private static Rate sourceRate(VcpuClockState v) {
        return switch (v.kernelScale()) {
            case ScaleReading.FromKernel k -> new Rate.Read(k.scale());
            case ScaleReading.NotRead n -> new Rate.Computed(v.scaling());
        };
    }

    private static Rate destinationRate(RestoreTarget t, ClockState saved, int i, Vcpu vcpu) {
        try {
            return new Rate.Read(vcpu.getTscScale());
        } catch (HvException e) {
            if (!e.is(Errno.ENXIO)) {
                throw e;
            }
            return new Rate.Computed(Offsets.rateOf(t, saved, i));
        }
    }
}
