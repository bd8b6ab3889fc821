package io.kvmclock.cli;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.inspect.Debugfs;
import io.kvmclock.inspect.Exporter;
import io.kvmclock.inspect.Fleet;
import io.kvmclock.inspect.Inspector;
import io.kvmclock.inspect.Metrics;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "exporter",
        mixinStandardHelpOptions = true,
        description = {
            "Serve every VM's pending kvmclock step to Prometheus on /metrics.",
            "",
            "Prometheus text exposition (Prometheus Java client) of what 'kvmclock",
            "inspect' finds, per vCPU of every VM on this host:",
            "kvmclock_vcpu_pending_step_seconds, kvmclock_vcpu_reference_age_seconds,",
            "kvmclock_vcpu_tsc_stable (labels pid, vmm, vcpu); per VM kvmclock_vm_vcpus",
            "and, where the offsets are known, kvmclock_vm_tsc_offsets_distinct; and",
            "kvmclock_host_tsc_khz, kvmclock_host_drift_ppb. Pvclocks are found once and",
            "re-validated at each scrape; a VM that exits disappears. Runs until",
            "interrupted. Listens on loopback unless told otherwise."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock exporter                          http://127.0.0.1:9875/metrics",
            "  kvmclock exporter --listen 0.0.0.0:9875    for a Prometheus elsewhere",
            "prometheus.yml:",
            "  scrape_configs:",
            "    - job_name: kvmclock",
            "      static_configs: [{targets: ['127.0.0.1:9875']}]"
        })
final class ExporterCommand implements Callable<Integer> {

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:9875",
            description = "Address to listen on (default ${DEFAULT-VALUE}; port 0 picks a free one and prints it).")
    String listen;

    @Option(names = "--rescan-after", paramLabel = "DURATION", defaultValue = "60s", converter = DurationNsConverter.class,
            description = "How long a VM whose guest RAM held no pvclock waits before it is scanned again (default ${DEFAULT-VALUE}).")
    long rescanAfter;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        int colon = listen.lastIndexOf(':');
        if (colon <= 0 || colon == listen.length() - 1) {
            throw UserError.badInput("--listen '" + listen + "' is not HOST:PORT, e.g. 127.0.0.1:9875");
        }
        String host = listen.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(listen.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw UserError.badInput("--listen '" + listen + "': the port is not a number, e.g. 127.0.0.1:9875");
        }
        if (port < 0 || port > 65535) {
            throw UserError.badInput("--listen port " + port + " is outside 0..65535");
        }
        Duration rescan = Duration.ofNanos(Inputs.boundedNs("--rescan-after", rescanAfter, 0, InspectCommand.MAX_INTERVAL_NS));
        PrintWriter err = spec.commandLine().getErr();
        try (Hypervisor hv = Backends.open()) {
            var h = InspectSupport.host(hv);
            Fleet fleet = new Fleet(new Inspector(h, Debugfs.find()), rescan);
            Exporter exporter;
            try {
                exporter = Exporter.start(host, port, new Metrics(fleet, h));
            } catch (UncheckedIOException e) {
                throw new UserError(ExitCode.ENVIRONMENT, e.getMessage() + ": choose another --listen");
            }
            try (exporter) {
                err.println("kvmclock exporter: serving http://" + host + ":" + exporter.port() + "/metrics");
                err.flush();
                new CountDownLatch(1).await();
            } catch (InterruptedException stop) {
                // stopped by its caller (a test, an embedding): close the server and end normally
                Thread.currentThread().interrupt();
            }
        }
        return ExitCode.OK;
    }
}
