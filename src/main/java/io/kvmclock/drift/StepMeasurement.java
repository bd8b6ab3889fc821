package io.kvmclock.drift;

import io.kvmclock.guest.ClockGuest;
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
 *   <li>boot the {@link ClockGuest} on vCPU 0 (it enables kvmclock and reports its TSC); read its pvclock P1;</li>
 *   <li>let {@code elapse} ns of host time pass;</li>
 *   <li>trigger a new master clock reference one of the ways in {@link Trigger};</li>
 *   <li>run the guest until it reports a TSC t (the pending update is applied on entry); read P2;</li>
 *   <li>measured step = P2.read(T) - P1.read(T) at T = P2.tsc_timestamp, the guest TSC at the new reference:
 *       the guest's clock there minus what the old function gives at the same guest TSC (at the guest's own
 *       later read t the two functions differ by this, give or take one ns of pvclock rounding);</li>
 *   <li>host cycles between the references = P2.tsc_timestamp - P1.tsc_timestamp - net TSC offset change
 *       (read back with KVM_GET_DEVICE_ATTR: a kernel may accept an offset write and ignore it);
 *       predicted step = raw(cycles) - pvclock(cycles + net offset change), which is {@link Drift#stepNs}
 *       when the offset is unchanged.</li>
 * </ol>
 * A trigger that takes no new reference leaves tsc_timestamp and system_time unchanged; the result says so
 * and predicts 0.
 */
public final class StepMeasurement {

    /** Ways to ask KVM for a new master clock reference (docs/kvm-clock.md, "The master clock"); which of them take one is the kernel's call. */
    public enum Trigger {
        /**
         * KVM_VCPU_TSC_OFFSET written to offset + 1 and straight back before the next KVM_RUN: each write goes
         * through kvm_synchronize_tsc as a new TSC generation, kvm_track_tsc_matching files
         * KVM_REQ_MASTERCLOCK_UPDATE, and the guest TSC ends where it was.
         */
        TSC_OFFSET("tsc-offset"),
        /** The experiment of docs/kvm-clock.md, "Drift": offset + 1 kept, so the guest TSC also moves by one cycle. */
        TSC_OFFSET_BUMP("tsc-offset-bump"),
        /**
         * KVM_SET_MSRS(IA32_TSC) from the host with the value KVM_GET_MSRS just gave: a host-initiated TSC
         * write, which also goes through kvm_synchronize_tsc.
         */
        TSC_MSR("tsc-msr"),
        /**
         * KVM_GET_CLOCK then KVM_SET_CLOCK(clock, REALTIME): a new reference, but kvmclock_offset is re-based
         * on the clock value passed in, which was computed from the old reference: the drift is discarded
         * and the step is only the ioctls' timing error.
         */
        SET_CLOCK("set-clock"),
        /**
         * KVM_SET_CLOCK(REALTIME) with the (clock, realtime) pair KVM_GET_CLOCK gave just after the first
         * reference: KVM adds the realtime elapsed since, so the new kvmclock is re-based on CLOCK_REALTIME, not
         * on the old function. The step is then realtime elapsed minus kvmclock elapsed, plus the ioctl's
         * reference-to-realtime gap: the raw drift only where realtime runs at the raw rate (no NTP slew).
         */
        SET_CLOCK_SAVED("set-clock-saved"),
        /** Create another vCPU and run it once (since late 2023 a matching hotplug no longer forces a reference). */
        HOTPLUG("hotplug"),
        /** KVM_KVMCLOCK_CTRL: sets GUEST_STOPPED and requests a clock update (kvm_set_guest_paused). */
        KVMCLOCK_CTRL("kvmclock-ctrl"),
        /** The host rewrites MSR_KVM_SYSTEM_TIME_NEW with its current value (kvm_write_system_time). */
        SYSTEM_TIME_MSR("system-time-msr"),
        /** KVM_SET_TSC_KHZ on vCPU 0 to its rate + 1 MHz (without scaling: catch-up mode, kvm_set_tsc_khz). */
        TSC_KHZ("tsc-khz");

        private final String cliName;

        Trigger(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static String names() {
            StringBuilder b = new StringBuilder();
            for (Trigger t : values()) {
                b.append(b.isEmpty() ? "" : ", ").append(t.cliName);
            }
            return b.toString();
        }

        public static Trigger parse(String s) {
            for (Trigger t : values()) {
                if (t.cliName.equals(s.toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("'" + s + "' is not a trigger: use one of " + names());
        }
    }

    /** Told how much of the wait is done, so a command can show progress. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, total) -> {};

        void waited(long doneNs, long totalNs);
    }

    /**
     * One measurement. {@code driftStepNs} is raw(cycles) - pvclock(cycles + offset change), what a plain
     * re-base would give; {@code predictedStepNs} is what this trigger should show (0 without a new reference
     * or for set-clock, which discards the drift). {@code guestReadStepNs} is the step at the TSC the guest
     * reported after the trigger.
     */
    public record Result(Trigger trigger, String backend, long tscKhz, long elapseNs, PvclockTimeInfo before,
                         PvclockTimeInfo after, long guestTsc, boolean newReference, long offsetChange,
                         long hostCycles, long rawNsBetween, long measuredStepNs, long guestReadStepNs,
                         long driftStepNs, long predictedStepNs) {
        public long differenceNs() {
            return measuredStepNs - predictedStepNs;
        }
    }

    private static final long SECOND = 1_000_000_000L;
    private static final int MAX_PROGRESS_STEPS = 200;

    private final Hypervisor hv;

    public StepMeasurement(Hypervisor hv) {
        this.hv = hv;
    }

    public Result measure(long elapseNs, Trigger trigger) {
        return measure(elapseNs, trigger, Progress.NONE);
    }

    public Result measure(long elapseNs, Trigger trigger, Progress progress) {
        if (elapseNs < 0) {
            throw new IllegalArgumentException("elapsed time must be >= 0 ns");
        }
        boolean needsAttributes = trigger == Trigger.TSC_OFFSET || trigger == Trigger.TSC_OFFSET_BUMP;
        if ((needsAttributes || trigger == Trigger.TSC_MSR) && !hv.capabilities().vcpuAttributes()) {
            throw new HvUnavailableException("the " + trigger.cliName() + " trigger needs KVM_CAP_VCPU_ATTRIBUTES"
                    + " (KVM_VCPU_TSC_OFFSET), which this kernel does not offer: use --trigger set-clock");
        }
        if (trigger == Trigger.KVMCLOCK_CTRL && !hv.capabilities().kvmclockCtrl()) {
            throw new HvUnavailableException("this kernel lacks KVM_CAP_KVMCLOCK_CTRL: use another --trigger");
        }
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest guest = ClockGuest.boot(vm);
            guest.readTsc();
            guest.readTsc();
            PvclockTimeInfo p1 = guest.readPvclock();
            long hostKhz = hv.host().tscKhz();
            long tscKhz = hostKhz > 0 ? hostKhz : guest.vcpu().getTscKhz();
            long offset0 = hv.capabilities().vcpuAttributes() ? guest.vcpu().getTscOffset() : 0;
            ClockData saved = trigger == Trigger.SET_CLOCK_SAVED ? vm.getClock() : null;
            if (saved != null && !saved.has(ClockData.REALTIME)) {
                throw new HvUnavailableException("KVM_GET_CLOCK gave no realtime (flags 0x"
                        + Integer.toHexString(saved.flags()) + "): set-clock-saved needs the master clock");
            }
            elapseWithProgress(elapseNs, progress);
            fire(trigger, vm, guest.vcpu(), saved);
            long t = guest.readTsc();
            PvclockTimeInfo p2 = guest.readPvclock();
            long offsetChange = hv.capabilities().vcpuAttributes() ? guest.vcpu().getTscOffset() - offset0 : 0;
            return evaluate(trigger, hv.backend(), tscKhz, elapseNs, p1, p2, t, offsetChange);
        }
    }

    private void elapseWithProgress(long totalNs, Progress progress) {
        long chunk = Math.max(SECOND, (totalNs + MAX_PROGRESS_STEPS - 1) / MAX_PROGRESS_STEPS);
        long done = 0;
        while (done < totalNs) {
            long step = Math.min(chunk, totalNs - done);
            hv.elapse(step);
            done += step;
            progress.waited(done, totalNs);
        }
    }

    private static void fire(Trigger trigger, Vm vm, Vcpu vcpu, ClockData saved) {
        switch (trigger) {
            case TSC_OFFSET -> {
                long off = vcpu.getTscOffset();
                vcpu.setTscOffset(off + 1);
                vcpu.setTscOffset(off);
            }
            case TSC_OFFSET_BUMP -> vcpu.setTscOffset(vcpu.getTscOffset() + 1);
            case TSC_MSR -> vcpu.setMsr(Vcpu.MSR_IA32_TSC, vcpu.getMsr(Vcpu.MSR_IA32_TSC));
            case SET_CLOCK -> {
                ClockData now = vm.getClock();
                int flags = now.has(ClockData.REALTIME) ? ClockData.REALTIME : 0;
                vm.setClock(new ClockData(now.clock(), flags, now.realtime(), 0));
            }
            case SET_CLOCK_SAVED -> vm.setClock(new ClockData(saved.clock(), ClockData.REALTIME, saved.realtime(), 0));
            case HOTPLUG -> {
                // kvm_track_tsc_matching files any KVM_REQ_MASTERCLOCK_UPDATE on the new vCPU, so it only takes
                // effect once that vCPU enters the guest: run it once. It runs the clock guest too (the model
                // knows no other code); its pvclock lands on the same page, which is harmless with matched TSCs
                // (same function), and vCPU 0's own update rewrites the page before P2 is read.
                Vcpu added = vm.createVcpu(vm.vcpus().size());
                ClockGuest.boot(vm, added).readTsc();
            }
            case KVMCLOCK_CTRL -> vcpu.kvmclockCtrl();
            case SYSTEM_TIME_MSR -> vcpu.setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, vcpu.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW));
            case TSC_KHZ -> vcpu.setTscKhz(vcpu.getTscKhz() + 1_000);
        }
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
        long atReference = p2.tscTimestamp();
        long measured = p2.read(atReference) - p1.read(atReference);
        long guestRead = p2.read(guestTsc) - p1.read(guestTsc);
        Drift d = new Drift(tscKhz, p1.scale(), Clocksource.forTscKhz(tscKhz));
        long driftStep = newReference
                ? d.clocksource().cyclesToNs(hostCycles) - d.pvclock().scaleDelta(hostCycles + offsetChange) : 0;
        long predicted = trigger == Trigger.SET_CLOCK ? 0 : driftStep;
        return new Result(trigger, backend, tscKhz, elapseNs, p1, p2, guestTsc, newReference, offsetChange,
                hostCycles, p2.systemTime() - p1.systemTime(), measured, guestRead, driftStep, predicted);
    }
}
