package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.inspect.Metrics;
import io.kvmclock.kvm.RealKvm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The exporter command itself: it listens where told, serves the text exposition, and stops when interrupted. */
class ExporterCommandTest {

    @Test
    void servesTheChildsVcpuOnMetricsAndStopsWhenInterrupted() throws Exception {
        RealKvm.openOrSkip().close();
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            PipedInputStream errIn = new PipedInputStream();
            PrintWriter err = new PrintWriter(new PipedOutputStream(errIn), true, StandardCharsets.UTF_8);
            AtomicInteger exit = new AtomicInteger(-1);
            Thread t = new Thread(() -> exit.set(Main.execute(new String[] {"exporter", "--listen", "127.0.0.1:0"},
                    new PrintWriter(new StringWriter()), err)));
            t.start();
            try {
                String line = new BufferedReader(new InputStreamReader(errIn, StandardCharsets.UTF_8)).readLine();
                Matcher m = Pattern.compile("serving http://127\\.0\\.0\\.1:(\\d+)/metrics").matcher(line);
                assertTrue(m.find(), line);
                String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + m.group(1) + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                String vcpu = "{pid=\"" + child.pid() + "\",vcpu=\"0\",vmm=\"kvmclock\"}";
                boolean knowable = !CliRun.of("inspect", Long.toString(child.pid()), "--json").json().get("vcpus").get(0)
                        .get("pendingStepNs").isNull();
                assertEquals(knowable, body.contains(Metrics.PENDING_STEP + vcpu), "a step where inspect has one: " + body);
                assertTrue(body.contains(Metrics.TSC_STABLE + vcpu + " 1.0"), body);
                assertTrue(body.contains(Metrics.VM_VCPUS + "{pid=\"" + child.pid() + "\",vmm=\"kvmclock\"} 1.0"), body);
                assertTrue(body.contains("# TYPE " + Metrics.HOST_TSC_KHZ + " gauge"), body);
            } finally {
                t.interrupt();
                t.join(30_000);
            }
            assertEquals(ExitCode.OK, exit.get());
        }
    }
}
