package io.kvmclock.time;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

/**
 * The C reference (src/test/c/clockref.c), built with gcc into target/ during the test run and kept
 * running as one process that answers a query per line. Without gcc the properties that need it are
 * skipped with that reason ({@link RequiresGcc}).
 */
final class CReference implements AutoCloseable {
    static final Path SOURCE = Path.of("src/test/c/clockref.c");
    static final Path BINARY = Path.of("target/clockref");

    private static CReference instance;
    private static String unavailable;

    private final Process process;
    private final PrintWriter in;
    private final BufferedReader out;

    private CReference(Process process) {
        this.process = process;
        this.in = new PrintWriter(process.outputWriter(StandardCharsets.US_ASCII), true);
        this.out = process.inputReader(StandardCharsets.US_ASCII);
    }

    /** Why the reference cannot run here, or null when it can. */
    static synchronized String unavailableReason() {
        if (instance == null && unavailable == null) {
            try {
                instance = start();
            } catch (IOException | InterruptedException e) {
                unavailable = e.getMessage();
            }
        }
        return unavailable;
    }

    static synchronized CReference get() {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        return instance;
    }

    private static CReference start() throws IOException, InterruptedException {
        if (!onPath("gcc")) {
            throw new IOException("gcc is not on PATH: the C reference tests need it (apt-get install gcc)");
        }
        Files.createDirectories(BINARY.getParent());
        Process cc = new ProcessBuilder("gcc", "-O2", "-Wall", "-Werror", "-o", BINARY.toString(), SOURCE.toString())
                .redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!cc.waitFor(120, TimeUnit.SECONDS) || cc.exitValue() != 0) {
            throw new IllegalStateException("gcc could not build the C reference: " + log);
        }
        CReference ref = new CReference(new ProcessBuilder(BINARY.toAbsolutePath().toString()).start());
        Runtime.getRuntime().addShutdownHook(new Thread(ref::close));
        return ref;
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    synchronized String query(String line) {
        in.println(line);
        try {
            String answer = out.readLine();
            if (answer == null || answer.startsWith("error")) {
                throw new IllegalStateException("C reference failed on '" + line + "': " + answer);
            }
            return answer;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    long[] longs(String line) {
        String[] parts = query(line).trim().split(" ");
        long[] v = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Long.parseUnsignedLong(parts[i]) ;
        }
        return v;
    }

    long[] signedPair(String line) {
        String[] parts = query(line).trim().split(" ");
        return new long[] {Long.parseUnsignedLong(parts[0]), Long.parseLong(parts[1])};
    }

    @Override
    public void close() {
        in.close();
        process.destroy();
    }

    /** Skips a property container when the C reference cannot be built, saying why. */
    static final class RequiresGcc implements SkipExecutionHook {
        @Override
        public SkipResult shouldBeSkipped(LifecycleContext context) {
            String why = unavailableReason();
            return why == null ? SkipResult.doNotSkip() : SkipResult.skip(why);
        }
    }
}
