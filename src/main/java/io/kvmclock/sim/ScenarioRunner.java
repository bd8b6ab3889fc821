package io.kvmclock.sim;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;

/**
 * Runs a {@link Scenario} on the model and records what the guest sees: every change of its kvmclock that
 * is not the passage of time. vCPU 0 reads kvmclock at every sample (each read is a KVM_RUN, so pending
 * clock requests are served then, as on a busy guest). Two kinds of steps:
 * <ul>
 *   <li>{@code reference} (outside actions; during one, vCPU 0's are part of the action's step): a new pvclock at a vCPU entry; the step is new minus old pvclock at the same
 *       guest TSC (exact: what a guest reading across the update sees).</li>
 *   <li>an action (kexec, migrate, TSC write, ...): the guest reads just before and just after; the step is
 *       the kvmclock advance minus the true time that passed (0 = the guest lost and gained nothing).</li>
 * </ul>
 */
public final class ScenarioRunner {

    /** One guest-visible clock event; {@code stepNs} negative means the guest clock went backwards. */
    public record ClockEvent(long atNs, String kind, int vcpu, long stepNs, String detail) {
        public boolean backwards() {
            return stepNs < 0;
        }
    }

    /** kvmclock of vCPU 0 minus the true time line, relative to the first sample. */
    public record Sample(long atNs, long offsetNs) {}

    public record Result(Scenario scenario, List<ClockEvent> events, List<Sample> samples, long references) {
        public List<ClockEvent> steps() {
            return events.stream().filter(e -> e.stepNs != 0).toList();
        }
    }

    private final Scenario scenario;
    private SimHypervisor hv;
    private SimVm vm;
    private final List<SimVcpu> vcpus = new ArrayList<>();
    private final List<PvclockTimeInfo> seen = new ArrayList<>();
    private final List<ClockEvent> events = new ArrayList<>();
    private final List<Sample> samples = new ArrayList<>();
    private long guestKhz;
    private long base;
    private boolean baseSet;
    private long references;
    private int nextId;
    /** During an action vCPU 0's re-references are part of the action's own step, not separate events. */
    private boolean inAction;

    private ScenarioRunner(Scenario scenario) {
        this.scenario = scenario;
    }

    public static Result run(Scenario scenario) {
        return new ScenarioRunner(scenario).execute();
    }

    private record Pending(long at, long seq, Scenario.Event event) {}

    private Result execute() {
        Scenario.HostSpec hs = scenario.host();
        SimHostConfig cfg = hs.config().withRealtimeAtStart(hs.config().realtimeAtStartNs() + hs.realtimeErrorNs());
        hv = SimHypervisor.create(cfg, scenario.seed());
        guestKhz = scenario.guestTscKhz().orElse(cfg.tscKhz());
        vm = (SimVm) hv.createVm(VmConfig.defaults());
        if (scenario.guestTscKhz().isPresent()) {
            vm.setTscKhz(guestKhz);
        }
        for (int i = 0; i < scenario.vcpus(); i++) {
            addVcpu();
        }
        PriorityQueue<Pending> queue = new PriorityQueue<>(Comparator.comparingLong(Pending::at).thenComparingLong(Pending::seq));
        long seq = 0;
        for (Scenario.Event e : scenario.events()) {
            queue.add(new Pending(e.atNs(), seq++, e));
        }
        long nextSample = 0;
        long end = scenario.durationNs();
        while (true) {
            long nextEvent = queue.isEmpty() ? Long.MAX_VALUE : queue.peek().at();
            long t = Math.min(nextSample, nextEvent);
            if (t > end) {
                break;
            }
            advanceTo(t);
            if (t == nextEvent) {
                Pending p = queue.poll();
                perform(p.event().action());
                if (p.event().everyNs() > 0 && p.at() + p.event().everyNs() <= end) {
                    queue.add(new Pending(p.at() + p.event().everyNs(), seq++, p.event()));
                }
            } else {
                sample();
                nextSample += scenario.sampleEveryNs();
            }
        }
        references += vm.referenceCount;
        return new Result(scenario, List.copyOf(events), List.copyOf(samples), references);
    }

    private void advanceTo(long t) {
        long now = hv.now();
        if (t > now) {
            hv.elapse(t - now);
        }
    }

    private void addVcpu() {
        SimVcpu v = (SimVcpu) vm.createVcpu(nextId++);
        v.resetToRealMode(io.kvmclock.hv.ClockGuestAbi.CODE_GPA);
        vcpus.add(v);
        seen.add(null);
    }

    /** Two KVM_RUNs (one TSC report) on every vCPU, noting pvclock changes as seen at the same guest TSC. */
    private void runAll() {
        for (int i = 0; i < vcpus.size(); i++) {
            SimVcpu v = vcpus.get(i);
            v.run();
            v.run();
            PvclockTimeInfo now = v.guestPvclock();
            PvclockTimeInfo old = seen.get(i);
            if (old != null && now != null && !sameFunction(old, now) && !(inAction && i == 0)) {
                long tsc = v.guestTsc();
                long step = now.read(tsc) - old.read(tsc);
                if (step != 0 || old.tscStable() != now.tscStable()) {
                    events.add(new ClockEvent(hv.now(), "reference", v.id(), step,
                            now.tscStable() ? "new master clock reference" : "pvclock re-based without a master clock"));
                }
            }
            seen.set(i, now);
        }
    }

    private static boolean sameFunction(PvclockTimeInfo a, PvclockTimeInfo b) {
        return a.tscTimestamp() == b.tscTimestamp() && a.systemTime() == b.systemTime() && a.mul() == b.mul()
                && a.shift() == b.shift();
    }

    private void sample() {
        runAll();
        long k = vcpus.getFirst().guestKvmclockNs();
        long off = k - hv.now();
        if (!baseSet) {
            base = off;
            baseSet = true;
        }
        samples.add(new Sample(hv.now(), off - base));
    }

    private long readGuest() {
        runAll();
        return vcpus.getFirst().guestKvmclockNs();
    }

    private void perform(Scenario.Action action) {
        long k0 = readGuest();
        long t0 = hv.now();
        inAction = true;
        String kind;
        String detail;
        switch (action) {
            case Scenario.Action.Hotplug h -> {
                long before = vm.referenceCount;
                addVcpu();
                kind = "hotplug";
                detail = "vCPU " + (nextId - 1) + " created";
                runAll();
                detail += vm.referenceCount > before ? ", new master clock reference" : ", no new reference";
            }
            case Scenario.Action.TscOffsetWrite w -> {
                Vcpu v = vcpu(w.vcpu());
                v.setTscOffset(v.getTscOffset() + w.delta());
                kind = "tsc-offset-write";
                detail = "vCPU " + w.vcpu() + " offset " + (w.delta() >= 0 ? "+" : "") + w.delta();
            }
            case Scenario.Action.TscMsrWrite w -> {
                Vcpu v = vcpu(w.vcpu());
                v.setMsr(Vcpu.MSR_IA32_TSC, v.getMsr(Vcpu.MSR_IA32_TSC) + w.delta());
                kind = "tsc-msr-write";
                detail = "vCPU " + w.vcpu() + " IA32_TSC " + (w.delta() >= 0 ? "+" : "") + w.delta();
            }
            case Scenario.Action.KvmclockCtrl c -> {
                vcpus.forEach(Vcpu::kvmclockCtrl);
                kind = "kvmclock-ctrl";
                detail = "GUEST_STOPPED on every vCPU";
            }
            case Scenario.Action.RealtimeStep s -> {
                hv.simHost().stepRealtime(s.ns());
                kind = "realtime-step";
                detail = "host CLOCK_REALTIME " + s.ns() + " ns";
            }
            case Scenario.Action.RealtimeSlew s -> {
                hv.simHost().slewRealtime(s.ppb(), s.durationNs());
                kind = "realtime-slew";
                detail = "host CLOCK_REALTIME " + s.ppb() + " ppb for " + s.durationNs() + " ns";
            }
            case Scenario.Action.Kexec k -> {
                kind = "kexec";
                detail = moveGuest(k.downtimeNs(), k.restore(), Optional.empty(), k.tscKhz());
            }
            case Scenario.Action.Migrate m -> {
                kind = "migrate";
                detail = moveGuest(m.downtimeNs(), m.restore(), Optional.of(m.host()), Optional.empty());
            }
        }
        long k1 = readGuest();
        inAction = false;
        long step = (k1 - k0) - (hv.now() - t0);
        events.add(new ClockEvent(t0, kind, 0, step, detail));
    }

    private Vcpu vcpu(int id) {
        for (SimVcpu v : vcpus) {
            if (v.id() == id) {
                return v;
            }
        }
        throw new Scenario.ScenarioException("the scenario names vCPU " + id + ", which does not exist at that time");
    }

    private record Saved(long offset, CpuState cpu, long systemTimeMsr) {}

    /** Save on the source, pause, restore on the destination (a kexec'd kernel or another host). */
    private String moveGuest(long downtime, Scenario.Restore restore, Optional<Scenario.HostSpec> dest,
                             Optional<Long> newKhz) {
        List<Saved> saved = new ArrayList<>();
        for (SimVcpu v : vcpus) {
            saved.add(new Saved(v.getTscOffset(), v.saveCpuState(), v.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW)));
        }
        PvclockTimeInfo pv = null;
        try {
            pv = vcpus.getFirst().getClockGuest();
        } catch (HvException e) {
            // no CLOCK_GUEST support or no master clock: only KVM_GET_CLOCK travels
        }
        ClockData k0 = vm.getClock();
        long srcKhz = hv.simHost().tscKhz();
        long srcGuestAtT0 = vcpus.getFirst().readL1Tsc(k0.hostTsc());
        references += vm.referenceCount;
        int count = vcpus.size();
        vcpus.clear();
        seen.clear();
        nextId = 0;

        boolean sameHost = dest.isEmpty();
        if (sameHost) {
            long khz = newKhz.orElse(srcKhz);
            hv = hv.kexec(downtime, khz, 5_000_000_000L);
        } else {
            hv.close();
            hv.elapse(downtime);
            Scenario.HostSpec hs = dest.get();
            long trueRealtime = hv.now() + SimHostConfig.DEFAULT_REALTIME_NS;
            hv = hv.peer(hs.config().withRealtimeAtStart(trueRealtime + hs.realtimeErrorNs()));
        }
        vm = (SimVm) hv.createVm(VmConfig.defaults());
        if (hv.host.config.vmTscControl()) {
            vm.setTscKhz(guestKhz);
        }
        for (int i = 0; i < count; i++) {
            SimVcpu v = (SimVcpu) vm.createVcpu(nextId++);
            if (v.getTscKhz() != guestKhz) {
                v.setTscKhz(guestKhz);
            }
            v.restoreCpuState(saved.get(i).cpu());
            v.setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, saved.get(i).systemTimeMsr());
            vcpus.add(v);
            seen.add(null);
        }
        StringBuilder d = new StringBuilder();
        d.append(sameHost ? "new kernel tsc_khz " + hv.simHost().tscKhz() + (hv.simHost().tscKhz() == srcKhz ? " (kept)" : " (was " + srcKhz + ")")
                : "to " + hv.simHost().config().name() + " (" + hv.simHost().tscKhz() + " kHz)");
        d.append(", downtime ").append(downtime).append(" ns, restore ").append(restore.label);

        if (sameHost) {
            for (int i = 0; i < count; i++) {
                vcpus.get(i).setTscOffset(saved.get(i).offset());
            }
        } else {
            // the documented migration (docs/kvm-clock.md): KVM_SET_CLOCK(REALTIME), KVM_GET_CLOCK, then each vCPU's TSC moved by the elapsed kvmclock
            vm.setClock(new ClockData(k0.clock(), ClockData.REALTIME, k0.realtime(), 0));
            ClockData k1 = vm.getClock();
            SimVcpu first = vcpus.getFirst();
            long dstScaled = first.readL1Tsc(k1.hostTsc()) - first.l1TscOffset;
            long guestAtT1 = srcGuestAtT0 + Units.nsToCycles(k1.clock() - k0.clock(), guestKhz);
            long base0 = saved.getFirst().offset();
            for (int i = 0; i < count; i++) {
                vcpus.get(i).setTscOffset(guestAtT1 - dstScaled + (saved.get(i).offset() - base0));
            }
        }
        Scenario.Restore used = restore;
        if (restore == Scenario.Restore.CLOCK_GUEST) {
            if (pv == null) {
                used = Scenario.Restore.SET_CLOCK_REALTIME;
                d.append(" (no KVM_GET_CLOCK_GUEST on the source: fell back to set-clock-realtime)");
            } else {
                try {
                    vcpus.getFirst().setClockGuest(pv);
                } catch (HvException e) {
                    used = Scenario.Restore.SET_CLOCK_REALTIME;
                    d.append(" (KVM_SET_CLOCK_GUEST refused: ").append(io.kvmclock.hv.Errno.describe(e.errno()))
                            .append("; fell back to set-clock-realtime)");
                }
            }
        }
        switch (used) {
            case SET_CLOCK_REALTIME -> vm.setClock(new ClockData(k0.clock(), ClockData.REALTIME, k0.realtime(), 0));
            case SET_CLOCK -> vm.setClock(new ClockData(k0.clock(), 0, 0, 0));
            case CLOCK_GUEST -> { }
        }
        vcpus.forEach(Vcpu::kvmclockCtrl);
        return d.toString();
    }
}
