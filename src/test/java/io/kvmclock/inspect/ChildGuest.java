package io.kvmclock.inspect;

import io.kvmclock.kvm.RealKvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@link GuestInChild} process for a test: started, talked to line by line, and on close told to stop
 * (stdin closed) and, should it linger, killed; waited for on every path.
 */
public final class ChildGuest implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final PrintWriter in;
    public final Map<String, String> ready;

    private ChildGuest(Process process) throws IOException {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        String line = out.readLine();
        if (line == null || !line.startsWith("ready")) {
            close();
            throw new IllegalStateException("the child guest did not start: " + line);
        }
        this.ready = fields(line);
    }

    public static ChildGuest start(String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED", "-Xmx64m",
                RealKvm.childJvmOption(),
                "-cp", System.getProperty("java.class.path"), GuestInChild.class.getName()));
        cmd.addAll(List.of(args));
        return new ChildGuest(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
    }

    public long pid() {
        return process.pid();
    }

    public long tscKhz() {
        return Long.parseLong(ready.get("tscKhz"));
    }

    /** Sends one command, returns the fields of its one-line answer. */
    public Map<String, String> ask(String command) throws IOException {
        in.println(command);
        String line = out.readLine();
        if (line == null) {
            throw new IllegalStateException("the child guest exited on '" + command + "'");
        }
        return fields(line);
    }

    /** Ends the child now (SIGKILL) and waits: a VMM dying under the inspector. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    static Map<String, String> fields(String line) {
        Map<String, String> m = new HashMap<>();
        for (String w : line.strip().split(" ")) {
            int eq = w.indexOf('=');
            if (eq > 0) {
                m.put(w.substring(0, eq), w.substring(eq + 1));
            }
        }
        return m;
    }

    @Override
    public void close() {
        in.close();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
