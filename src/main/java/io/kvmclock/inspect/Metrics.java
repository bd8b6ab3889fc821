package io.kvmclock.inspect;

import io.kvmclock.time.Drift;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.List;

/**
 * The exporter's metrics, built afresh from {@link Fleet#refresh} at every scrape, so a VM that exited is
 * simply not in the next one. Prometheus values are doubles: the exact integers (steps in ns, ages in
 * cycles) are converted here, at the edge, and nowhere else.
 */
public final class Metrics implements MultiCollector {
    public static final String PENDING_STEP = "kvmclock_vcpu_pending_step_seconds";
    public static final String REFERENCE_AGE = "kvmclock_vcpu_reference_age_seconds";
    public static final String TSC_STABLE = "kvmclock_vcpu_tsc_stable";
    public static final String VM_VCPUS = "kvmclock_vm_vcpus";
    public static final String OFFSETS_DISTINCT = "kvmclock_vm_tsc_offsets_distinct";
    public static final String HOST_TSC_KHZ = "kvmclock_host_tsc_khz";
    public static final String HOST_DRIFT_PPB = "kvmclock_host_drift_ppb";

    private final Fleet fleet;
    private final Host host;

    public Metrics(Fleet fleet, Host host) {
        this.fleet = fleet;
        this.host = host;
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of(PENDING_STEP, REFERENCE_AGE, TSC_STABLE, VM_VCPUS, OFFSETS_DISTINCT, HOST_TSC_KHZ, HOST_DRIFT_PPB);
    }

    @Override
    public MetricSnapshots collect() {
        GaugeSnapshot.Builder step = gauge(PENDING_STEP, "The step the vCPU's kvmclock takes if KVM takes a new master clock reference now (seconds, negative = backwards)");
        GaugeSnapshot.Builder age = gauge(REFERENCE_AGE, "Time since KVM's master clock reference in the vCPU's pvclock, in guest TSC cycles over tsc_khz");
        GaugeSnapshot.Builder stable = gauge(TSC_STABLE, "1 when the vCPU's pvclock has PVCLOCK_TSC_STABLE_BIT (KVM's master clock)");
        GaugeSnapshot.Builder vcpus = gauge(VM_VCPUS, "vCPU fds the VMM holds");
        GaugeSnapshot.Builder distinct = gauge(OFFSETS_DISTINCT, "Distinct TSC offsets among the VM's vCPUs, where they can be read");
        for (Fleet.Entry e : fleet.refresh()) {
            VmProcess p = e.process();
            Labels vm = Labels.of("pid", Long.toString(p.pid()), "vmm", p.vmmName());
            vcpus.dataPoint(point(vm, p.vcpus().size()));
            e.inspection().ifPresent(i -> {
                i.distinctOffsets().ifPresent(n -> distinct.dataPoint(point(vm, n)));
                for (VcpuClock v : i.vcpus()) {
                    Labels l = vm.add("vcpu", Integer.toString(v.vcpu()));
                    stable.dataPoint(point(l, v.pvclock().tscStable() ? 1 : 0));
                    v.pendingStepNs().ifPresent(ns -> step.dataPoint(point(l, ns / 1e9)));
                    v.referenceAgeSeconds().ifPresent(s -> age.dataPoint(point(l, s.doubleValue())));
                }
            });
        }
        return MetricSnapshots.of(step.build(), age.build(), stable.build(), vcpus.build(), distinct.build(),
                gauge(HOST_TSC_KHZ, "KVM's tsc_khz on this host").dataPoint(point(Labels.EMPTY, host.tscKhz())).build(),
                gauge(HOST_DRIFT_PPB, "Host raw clock rate minus kvmclock rate at this tsc_khz, ppb (negative: a new reference steps guests back)")
                        .dataPoint(point(Labels.EMPTY, Drift.forTscKhz(host.tscKhz()).driftPpb().doubleValue())).build());
    }

    private static GaugeSnapshot.Builder gauge(String name, String help) {
        return GaugeSnapshot.builder().name(name).help(help);
    }

    private static GaugeDataPointSnapshot point(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }
}
