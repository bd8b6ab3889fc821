package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.inspect.Debugfs;
import io.kvmclock.inspect.Exporter;
import io.kvmclock.inspect.Fleet;
import io.kvmclock.inspect.Host;
import io.kvmclock.inspect.Inspector;
import io.kvmclock.inspect.Metrics;
import io.kvmclock.inspect.ProcFs;
import io.kvmclock.inspect.PvclockScanner;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.RealQemu;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus server (Debian's prometheus) scrapes the exporter, which sees a real KVM VM in another
 * process; the metric is read back through Prometheus's HTTP API. The server and its files are removed on
 * every path.
 */
class PrometheusScrapeTest {
    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static Path prometheusBinary() {
        Optional<Path> found = Stream.concat(Stream.of(Path.of("/usr/bin/prometheus")),
                        Stream.of(System.getenv().getOrDefault("PATH", "").split(":")).map(d -> Path.of(d, "prometheus")))
                .filter(Files::isExecutable).findFirst();
        Assumptions.assumeTrue(found.isPresent(),
                "skipped, a Prometheus server is needed: install Debian's prometheus package (apt-get install prometheus)");
        return found.get();
    }

    /** What a test does with a running exporter and a Prometheus scraping it every second. */
    @FunctionalInterface
    private interface Scraped {
        void run(Host host, int prometheusPort, Process prometheus, Path dir) throws Exception;
    }

    /** Starts the exporter and a Prometheus scraping it; both, and Prometheus's files, gone on every path. */
    private static void withPrometheus(Hypervisor hv, Scraped body) throws Exception {
        Path binary = prometheusBinary();
        Path dir = Files.createTempDirectory("kvmclock-prometheus-");
        Process prometheus = null;
        try {
            Host host = InspectSupport.host(hv);
            Fleet fleet = new Fleet(new Inspector(host, Debugfs.find()), Duration.ofSeconds(60));
            try (Exporter exporter = Exporter.start("127.0.0.1", 0, new Metrics(fleet, host))) {
                Files.writeString(dir.resolve("prometheus.yml"), String.join("\n",
                        "global:",
                        "  scrape_interval: 1s",
                        "  evaluation_interval: 1s",
                        "scrape_configs:",
                        "  - job_name: kvmclock",
                        "    static_configs:",
                        "      - targets: ['127.0.0.1:" + exporter.port() + "']",
                        ""));
                int web = 0;
                // the port is free when chosen, but on a shared machine another process can take it before
                // Prometheus binds it: a start that fails so is tried again on another port
                for (int attempt = 1; prometheus == null; attempt++) {
                    web = freePort();
                    Process p = new ProcessBuilder(binary.toString(), "--config.file=" + dir.resolve("prometheus.yml"),
                            "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + web)
                            .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
                    if (ready(web, p) || attempt == 3 || !log(dir).contains("address already in use")) {
                        prometheus = p;
                    }
                }
                body.run(host, web, prometheus, dir);
            }
        } finally {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly();
                    prometheus.waitFor(20, TimeUnit.SECONDS);
                }
            }
            deleteTree(dir);
        }
    }

    /** The pending step and reference age of vCPU 0 of {@code pid} as Prometheus holds them; drift's step for that age. */
    private static void assertDriftsStep(Host host, int web, Process prometheus, Path dir, long pid, String vmm)
            throws Exception {
        var first = new Inspector(host, Debugfs.find()).inspect(ProcFs.read(pid), Optional.empty(),
                PvclockScanner.Progress.NONE).vcpus().getFirst();
        Assumptions.assumeTrue(first.pendingStepNs().isPresent(),
                () -> "skipped, the guest TSC is not knowable here, so there is no step to scrape: " + first.unknownWhy());
        String both = "{__name__=~\"kvmclock_vcpu_(pending_step|reference_age)_seconds\",pid=\"" + pid + "\"}";
        JsonNode result = waitFor(web, both, r -> r.size() == 2, prometheus, dir);
        double step = Double.NaN;
        double age = Double.NaN;
        for (JsonNode s : result) {
            assertEquals(vmm, s.get("metric").get("vmm").asText());
            assertEquals("0", s.get("metric").get("vcpu").asText());
            double v = Double.parseDouble(s.get("value").get(1).asText());
            if (s.get("metric").get("__name__").asText().equals(Metrics.PENDING_STEP)) {
                step = v;
            } else {
                age = v;
            }
        }
        long khz = host.tscKhz();
        long cycles = Math.round(age * khz * 1000);
        assertTrue(age > 0, "reference age " + age);
        assertEquals(DriftPredictor.stepNs(khz, cycles), Math.round(step * 1e9), 2,
                "Prometheus holds drift's step for the age it holds (" + age + " s)");
        System.out.printf("Prometheus query (%s %d): %s = %s s at reference age %s s (drift: %d ns)%n", vmm, pid,
                Metrics.PENDING_STEP, step, age, DriftPredictor.stepNs(khz, cycles));
    }

    @Tag("kvm")
    @Test
    void prometheusScrapesThePendingStepAndForgetsAVmThatExited() throws Exception {
        try (Hypervisor hv = RealKvm.openOrSkip(); ChildGuest child = ChildGuest.start("kvmclock")) {
            withPrometheus(hv, (host, web, prometheus, dir) -> {
                assertDriftsStep(host, web, prometheus, dir, child.pid(), "kvmclock");
                JsonNode khzResult = waitFor(web, Metrics.HOST_TSC_KHZ, r -> r.size() == 1, prometheus, dir);
                assertEquals(host.tscKhz(), Double.parseDouble(khzResult.get(0).get("value").get(1).asText()));
                child.kill();
                waitFor(web, "kvmclock_vm_vcpus{pid=\"" + child.pid() + "\"}", JsonNode::isEmpty, prometheus, dir);
            });
        }
    }

    @Tag("kvm")
    @Test
    void prometheusScrapesAQemuVm() throws Exception {
        Path qemu = RealQemu.orSkip();
        try (Hypervisor hv = RealKvm.openOrSkip();
             QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu).withRamMiB(16))) {
            q.guestRam(Duration.ofSeconds(10));
            withPrometheus(hv, (host, web, prometheus, dir) -> assertDriftsStep(host, web, prometheus, dir, q.pid(), "qemu"));
        }
    }

    /** Queries until {@code done} holds for data.result (bounded), failing with the server's log otherwise. */
    private static JsonNode waitFor(int port, String query, Predicate<JsonNode> done, Process prometheus, Path dir)
            throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        String last = "";
        while (System.nanoTime() < end) {
            assertTrue(prometheus.isAlive(), () -> "prometheus exited: " + log(dir));
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8)))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                last = r.body();
                if (r.statusCode() == 200) {
                    JsonNode result = new ObjectMapper().readTree(r.body()).get("data").get("result");
                    if (done.test(result)) {
                        return result;
                    }
                }
            } catch (IOException notUpYet) {
                last = notUpYet.toString();
            }
            Thread.sleep(250);
        }
        throw new AssertionError("Prometheus never answered " + query + " as expected; last answer " + last
                + "; log: " + log(dir));
    }

    /** Waits (bounded) until Prometheus on {@code port} answers /-/ready; false if it exited first. */
    private static boolean ready(int port, Process prometheus) throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (prometheus.isAlive() && System.nanoTime() < end) {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/-/ready"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (IOException notUpYet) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        return prometheus.isAlive();
    }

    private static String log(Path dir) {
        try {
            String s = Files.readString(dir.resolve("prometheus.log"));
            return s.length() > 3000 ? s.substring(s.length() - 3000) : s;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
