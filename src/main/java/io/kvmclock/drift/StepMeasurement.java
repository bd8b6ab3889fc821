package io.kvmclock.drift;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HvUnavailableException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.Drift;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.Locale;

/**
 * Measures the step a master-clock guest sees when KVM takes a new reference, on any {@link Hypervisor}:
 * <ol>
 *   <li>boot the clock guest on vCPU 0 (it enables kvmclock and reports its TSC); read its pvclock P1;</li>
 *   <li>let {@code elapse} ns of host time pass;</li>
 *   <li>trigger a new master clock reference one of the ways in {@link Trigger};</li>
 *   <li>run the guest until it reports a TSC t (the pending update is applied on entry); read P2;</li>
 *   <li>measured step = P2.read(t) - P1.read(t): the guest's clock just after minus what it would read at
 *       the same TSC had nothing happened;</li>
 *   <li>host cycles between the references = P2.tsc_timestamp - P1.tsc_timestamp - net TSC offset change;
 *       predicted step = raw(cycles) - pvclock(cycles + net offset change), which is
 *       {@link Drift#stepNs} when the offset is unchanged.</li>
 * </ol>
 * A trigger that takes no new reference leaves tsc_timestamp and system_time unchanged; the result says so
 * and predicts 0.
 */
public final class StepMeasurement {

    /** Ways to make KVM take a new master clock reference (facts §4; which work is the kernel's call). */
    public enum Trigger {
        /**
         * KVM_VCPU_TSC_OFFSET written to offset + 1 and straight back before the next KVM_RUN: each write
         * starts a new TSC generation (kvm_synchronize_tsc, not matched), kvm_track_tsc_matching requests a
         * master clock update, the two requests coalesce into one on entry, and the guest TSC is unchanged.
         */
        TSC_OFFSET("tsc-offset"),
        /** The facts page's experiment: offset + 1 kept, so the guest TSC also moves by one cycle. */
        TSC_OFFSET_BUMP("tsc-offset-bump"),
        /**
         * KVM_GET_CLOCK then KVM_SET_CLOCK(clock, REALTIME): a new reference, but kvmclock_offset is re-based
         * on the clock value passed in, which was computed from the old reference: the drift is discarded
         * and the step is only the ioctls' timing error.
         */
        SET_CLOCK("set-clock"),
        /** Create another vCPU (since late 2023 a matching hotplug no longer forces a master clock update). */
        HOTPLUG("hotplug");

        private final String cliName;

        Trigger(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Trigger parse(String s) {
            for (Trigger t : values()) {
                if (t.cliName.equals(s.toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("'" + s + "' is not a trigger: use tsc-offset, tsc-offset-bump,"
                    + " set-clock or hotplug");
        }
    }

    /**
     * One measurement. {@code driftStepNs} is raw(cycles) - pvclock(cycles + offset change), what a plain
     * re-base would give; {@code predictedStepNs} is what this trigger should show (0 without a new reference
     * or for set-clock, which discards the drift).
     */
    public record Result(Trigger trigger, String backend, long tscKhz, long elapseNs, PvclockTimeInfo before,
                         PvclockTimeInfo after, long guestTsc, boolean newReference, long offsetChange,
                         long hostCycles, long rawNsBetween, long measuredStepNs, long driftStepNs,
                         long predictedStepNs) {
        public long differenceNs() {
            return measuredStepNs - predictedStepNs;
        }
    }

    private final Hypervisor hv;

    public StepMeasurement(Hypervisor hv) {
        this.hv = hv;
    }

    public Result measure(long elapseNs, Trigger trigger) {
        if (elapseNs < 0) {
            throw new IllegalArgumentException("elapsed time must be >= 0 ns");
        }
        if ((trigger == Trigger.TSC_OFFSET || trigger == Trigger.TSC_OFFSET_BUMP)
                && !hv.capabilities().vcpuAttributes()) {
            throw new HvUnavailableException("the tsc-offset triggers need KVM_CAP_VCPU_ATTRIBUTES (KVM_VCPU_TSC_OFFSET),"
                    + " which this kernel does not offer: use --trigger set-clock");
        }
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu vcpu = vm.createVcpu(0);
            ClockGuestRunner.load(vm.memory(), vcpu);
            ClockGuestRunner.nextTsc(vcpu);
            ClockGuestRunner.nextTsc(vcpu);
            PvclockTimeInfo p1 = ClockGuestRunner.readPvclock(vm.memory());
            long hostKhz = hv.host().tscKhz();
            long tscKhz = hostKhz > 0 ? hostKhz : vcpu.getTscKhz();
            hv.elapse(elapseNs);
            long offsetChange = fire(trigger, vm, vcpu);
            long t = ClockGuestRunner.nextTsc(vcpu);
            PvclockTimeInfo p2 = ClockGuestRunner.readPvclock(vm.memory());
            return evaluate(trigger, hv.backend(), tscKhz, elapseNs, p1, p2, t, offsetChange);
        }
    }

    /** Performs the trigger; returns the net change of the guest's TSC offset. */
    private static long fire(Trigger trigger, Vm vm, Vcpu vcpu) {
        return switch (trigger) {
            case TSC_OFFSET -> {
                long off = vcpu.getTscOffset();
                vcpu.setTscOffset(off + 1);
                vcpu.setTscOffset(off);
                yield 0;
            }
            case TSC_OFFSET_BUMP -> {
                long off = vcpu.getTscOffset();
                vcpu.setTscOffset(off + 1);
                yield 1;
            }
            case SET_CLOCK -> {
                ClockData now = vm.getClock();
                int flags = now.has(ClockData.REALTIME) ? ClockData.REALTIME : 0;
                vm.setClock(new ClockData(now.clock(), flags, now.realtime(), 0));
                yield 0;
            }
            case HOTPLUG -> {
                // kvm_track_tsc_matching files KVM_REQ_MASTERCLOCK_UPDATE on the vCPU being synchronized, the
                // new one: it only takes effect once that vCPU enters the guest, so run it once (to an OUT).
                Vcpu added = vm.createVcpu(vm.vcpus().size());
                ClockGuestRunner.loadParked(vm.memory(), added);
                ClockGuestRunner.runParked(added);
                yield 0;
            }
        };
    }

    /**
     * The arithmetic of a measurement, separate so it can be checked without a hypervisor. The raw clock
     * converts with the clocksource of the host's tsc_khz; the pvclock side uses the scale the guest was
     * actually given (P1's mul/shift).
     */
    public static Result evaluate(Trigger trigger, String backend, long tscKhz, long elapseNs, PvclockTimeInfo p1,
                                  PvclockTimeInfo p2, long guestTsc, long offsetChange) {
        boolean newReference = p1.tscTimestamp() != p2.tscTimestamp() || p1.systemTime() != p2.systemTime();
        long hostCycles = newReference ? p2.tscTimestamp() - p1.tscTimestamp() - offsetChange : 0;
        long measured = p2.read(guestTsc) - p1.read(guestTsc);
        Drift d = new Drift(tscKhz, p1.scale(), Clocksource.forTscKhz(tscKhz));
        long driftStep = newReference
                ? d.clocksource().cyclesToNs(hostCycles) - d.pvclock().scaleDelta(hostCycles + offsetChange) : 0;
        long predicted = trigger == Trigger.SET_CLOCK ? 0 : driftStep;
        return new Result(trigger, backend, tscKhz, elapseNs, p1, p2, guestTsc, newReference, offsetChange,
                hostCycles, p2.systemTime() - p1.systemTime(), measured, driftStep, predicted);
    }
}
