package io.kvmclock.hv;

import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscScaling;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Wraps either backend so that one chosen call fails as the kernel can make it fail: an errno (EINTR,
 * EAGAIN, EIO, ...) or a call that returns success but takes no effect (a setter silently dropped). Armed
 * only around the code under test (a restore), it counts every call it sees, so a test can first learn which
 * calls a restore makes and then fault each one (docs/faults.md). {@code live-update --inject-fault restore}
 * uses it too.
 */
public final class FaultInjector {

    /** The calls a restore can make, by the name the kernel's ioctl has (the name errors carry). */
    public enum Call {
        KVM_GET_CLOCK("KVM_GET_CLOCK", false),
        KVM_SET_CLOCK("KVM_SET_CLOCK", true),
        VM_GET_TSC_KHZ("KVM_GET_TSC_KHZ (VM)", false),
        VM_SET_TSC_KHZ("KVM_SET_TSC_KHZ (VM)", true),
        KVM_GET_TSC_KHZ("KVM_GET_TSC_KHZ", false),
        KVM_SET_TSC_KHZ("KVM_SET_TSC_KHZ", true),
        GET_TSC_OFFSET("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", false),
        SET_TSC_OFFSET("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", true),
        GET_TSC_SCALE("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_SCALE)", false),
        KVM_GET_MSRS("KVM_GET_MSRS", false),
        KVM_SET_MSRS("KVM_SET_MSRS", true),
        KVM_KVMCLOCK_CTRL("KVM_KVMCLOCK_CTRL", true),
        KVM_GET_CLOCK_GUEST("KVM_GET_CLOCK_GUEST", false),
        KVM_SET_CLOCK_GUEST("KVM_SET_CLOCK_GUEST", true),
        KVM_RUN("KVM_RUN", false);

        private final String ioctl;
        private final boolean sets;

        Call(String ioctl, boolean sets) {
            this.ioctl = ioctl;
            this.sets = sets;
        }

        public String ioctl() {
            return ioctl;
        }

        /** A call that changes state, so "returns but takes no effect" applies to it. */
        public boolean sets() {
            return sets;
        }
    }

    /** What the chosen call does instead of its job. */
    public sealed interface Fault {
        /** The call fails with this errno, as the kernel's ioctl would. */
        record Fails(Errno errno) implements Fault {}

        /** The call returns success and changes nothing. */
        record NoEffect() implements Fault {}
    }

    /** The {@code occurrence}-th call (1-based, counted while armed) of {@code call} gets {@code fault}. */
    public record Rule(Call call, int occurrence, Fault fault) {}

    private final Optional<Rule> rule;
    private final Map<Call, Integer> counts = new EnumMap<>(Call.class);
    private final List<Call> seen = new ArrayList<>();
    private boolean armed;
    private boolean fired;

    public FaultInjector(Optional<Rule> rule) {
        this.rule = rule;
    }

    /** Only calls made while armed are counted and faulted. */
    public void arm(boolean on) {
        armed = on;
    }

    /** Every call seen while armed, in order. */
    public List<Call> seen() {
        return List.copyOf(seen);
    }

    /** Whether the rule's fault has been injected. */
    public boolean fired() {
        return fired;
    }

    /** True to perform the call; throws the injected errno; false for a call to drop. */
    private boolean perform(Call c) {
        if (!armed) {
            return true;
        }
        seen.add(c);
        int n = counts.merge(c, 1, Integer::sum);
        if (rule.isEmpty() || rule.get().call() != c || rule.get().occurrence() != n) {
            return true;
        }
        fired = true;
        return switch (rule.get().fault()) {
            case Fault.Fails f -> throw new HvException(c.ioctl(), f.errno().number(), "injected fault");
            case Fault.NoEffect x -> !c.sets();
        };
    }

    public Hypervisor wrap(Hypervisor hv) {
        return new FaultyHypervisor(hv);
    }

    private final class FaultyHypervisor implements Hypervisor {
        private final Hypervisor d;

        FaultyHypervisor(Hypervisor d) {
            this.d = d;
        }

        @Override
        public String backend() {
            return d.backend();
        }

        @Override
        public HostInfo host() {
            return d.host();
        }

        @Override
        public ClockCapabilities capabilities() {
            return d.capabilities();
        }

        @Override
        public Optional<TscScaling> tscScaling() {
            return d.tscScaling();
        }

        @Override
        public Vm createVm(VmConfig config) {
            return new FaultyVm(d.createVm(config));
        }

        @Override
        public void elapse(long nanos) {
            d.elapse(nanos);
        }

        @Override
        public HostClocks readHostClocks() {
            return d.readHostClocks();
        }

        @Override
        public long monotonicRawNs() {
            return d.monotonicRawNs();
        }

        @Override
        public long stopwatchNs() {
            return d.stopwatchNs();
        }

        @Override
        public long ioctlNanos() {
            return d.ioctlNanos();
        }

        @Override
        public Boost boostCurrentThread() {
            return d.boostCurrentThread();
        }

        @Override
        public void close() {
            d.close();
        }
    }

    private final class FaultyVm implements Vm {
        private final Vm d;
        private final List<Vcpu> vcpus = new ArrayList<>();

        FaultyVm(Vm d) {
            this.d = d;
        }

        @Override
        public ClockData getClock() {
            perform(Call.KVM_GET_CLOCK);
            return d.getClock();
        }

        @Override
        public void setClock(ClockData data) {
            if (perform(Call.KVM_SET_CLOCK)) {
                d.setClock(data);
            }
        }

        @Override
        public long getTscKhz() {
            perform(Call.VM_GET_TSC_KHZ);
            return d.getTscKhz();
        }

        @Override
        public void setTscKhz(long khz) {
            if (perform(Call.VM_SET_TSC_KHZ)) {
                d.setTscKhz(khz);
            }
        }

        @Override
        public Vcpu createVcpu(int id) {
            Vcpu v = new FaultyVcpu(d.createVcpu(id));
            vcpus.add(v);
            return v;
        }

        @Override
        public List<Vcpu> vcpus() {
            return List.copyOf(vcpus);
        }

        @Override
        public GuestMemory memory() {
            return d.memory();
        }

        @Override
        public void close() {
            d.close();
        }
    }

    private final class FaultyVcpu implements Vcpu {
        private final Vcpu d;

        FaultyVcpu(Vcpu d) {
            this.d = d;
        }

        @Override
        public int id() {
            return d.id();
        }

        @Override
        public long getTscKhz() {
            perform(Call.KVM_GET_TSC_KHZ);
            return d.getTscKhz();
        }

        @Override
        public void setTscKhz(long khz) {
            if (perform(Call.KVM_SET_TSC_KHZ)) {
                d.setTscKhz(khz);
            }
        }

        @Override
        public long getTscOffset() {
            perform(Call.GET_TSC_OFFSET);
            return d.getTscOffset();
        }

        @Override
        public void setTscOffset(long offset) {
            if (perform(Call.SET_TSC_OFFSET)) {
                d.setTscOffset(offset);
            }
        }

        @Override
        public TscScale getTscScale() {
            perform(Call.GET_TSC_SCALE);
            return d.getTscScale();
        }

        @Override
        public long getMsr(int index) {
            perform(Call.KVM_GET_MSRS);
            return d.getMsr(index);
        }

        @Override
        public void setMsr(int index, long value) {
            if (perform(Call.KVM_SET_MSRS)) {
                d.setMsr(index, value);
            }
        }

        @Override
        public void kvmclockCtrl() {
            if (perform(Call.KVM_KVMCLOCK_CTRL)) {
                d.kvmclockCtrl();
            }
        }

        @Override
        public PvclockTimeInfo getClockGuest() {
            perform(Call.KVM_GET_CLOCK_GUEST);
            return d.getClockGuest();
        }

        @Override
        public void setClockGuest(PvclockTimeInfo pvclock) {
            if (perform(Call.KVM_SET_CLOCK_GUEST)) {
                d.setClockGuest(pvclock);
            }
        }

        @Override
        public void resetToRealMode(long entryGpa) {
            d.resetToRealMode(entryGpa);
        }

        @Override
        public CpuState saveCpuState() {
            return d.saveCpuState();
        }

        @Override
        public void restoreCpuState(CpuState state) {
            d.restoreCpuState(state);
        }

        @Override
        public VcpuExit run() {
            perform(Call.KVM_RUN);
            return d.run();
        }

        @Override
        public void serveRequests() {
            perform(Call.KVM_RUN);
            d.serveRequests();
        }

        @Override
        public void close() {
            d.close();
        }
    }
}
