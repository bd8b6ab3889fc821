package io.kvmclock.peer.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A QMP client on a unix socket (docs/interop/qmp-spec in QEMU): one JSON object per line; after the greeting
 * and {@code qmp_capabilities}, each command gets one {@code return} or {@code error}, and {@code event}s
 * arrive at any time. A daemon thread reads lines into a queue, so every wait has a timeout.
 */
public final class Qmp implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final JsonNode CLOSED = MAPPER.createObjectNode().put("closed", true);

    /** A QMP event with QEMU's timestamp (host realtime, microseconds). */
    public record Event(String name, long timestampMicros, JsonNode data) {}

    private final SocketChannel ch;
    private final BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
    private final List<Event> events = new ArrayList<>();
    private final BlockingQueue<Event> incoming = new LinkedBlockingQueue<>();
    private final JsonNode greeting;

    private Qmp(SocketChannel ch) {
        this.ch = ch;
        Thread reader = Thread.ofPlatform().daemon().name("qmp-reader").start(this::readLoop);
        JsonNode g = take(COMMAND_TIMEOUT, "the QMP greeting");
        if (!g.has("QMP")) {
            throw QemuException.failure("QMP: expected a greeting, got " + g);
        }
        this.greeting = g;
        execute("qmp_capabilities");
    }

    public static Qmp connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return new Qmp(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void readLoop() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = MAPPER.readTree(line);
                if (n.has("event")) {
                    JsonNode ts = n.path("timestamp");
                    incoming.add(new Event(n.get("event").asText(),
                            ts.path("seconds").asLong() * 1_000_000L + ts.path("microseconds").asLong(), n.path("data")));
                } else {
                    replies.add(n);
                }
            }
        } catch (IOException e) {
            // the socket closed (QEMU quit or we closed it): waiters see CLOSED
        }
        replies.add(CLOSED);
    }

    /** QEMU's version as its greeting states it, e.g. 7.2.22. */
    public String version() {
        JsonNode q = greeting.path("QMP").path("version").path("qemu");
        return q.path("major").asInt() + "." + q.path("minor").asInt() + "." + q.path("micro").asInt();
    }

    public JsonNode execute(String command) {
        return execute(command, MAPPER.createObjectNode());
    }

    /** Runs one command and returns its {@code return} value; a QMP error is a {@link QemuException}. */
    public synchronized JsonNode execute(String command, ObjectNode arguments) {
        ObjectNode req = MAPPER.createObjectNode().put("execute", command);
        if (!arguments.isEmpty()) {
            req.set("arguments", arguments);
        }
        try {
            ByteBuffer b = ByteBuffer.wrap((MAPPER.writeValueAsString(req) + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
        } catch (IOException e) {
            throw new QemuException(QemuException.Kind.FAILURE, "QMP " + command + ": QEMU closed its monitor (" + e.getMessage() + ")", e);
        }
        JsonNode r = take(COMMAND_TIMEOUT, "the reply to " + command);
        if (r.has("error")) {
            throw QemuException.failure("QMP " + command + " failed: " + r.get("error").path("desc").asText(r.get("error").toString()));
        }
        return r.path("return");
    }

    public static ObjectNode args() {
        return MAPPER.createObjectNode();
    }

    private JsonNode take(Duration timeout, String what) {
        try {
            JsonNode n = replies.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (n == null) {
                throw QemuException.failure("QMP: no " + what + " within " + timeout.toSeconds() + " s");
            }
            if (n == CLOSED) {
                replies.add(CLOSED);
                throw QemuException.failure("QMP: QEMU closed its monitor before " + what);
            }
            return n;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw QemuException.failure("interrupted waiting for " + what);
        }
    }

    /** The next event named {@code name} (events before it are kept in {@link #events()}), or empty after the timeout. */
    public Optional<Event> awaitEvent(String name, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            for (int i = 0; i < events.size(); i++) {
                if (events.get(i).name().equals(name)) {
                    return Optional.of(events.remove(i));
                }
            }
        }
        try {
            for (long left; (left = deadline - System.nanoTime()) > 0; ) {
                Event e = incoming.poll(left, TimeUnit.NANOSECONDS);
                if (e == null) {
                    break;
                }
                if (e.name().equals(name)) {
                    return Optional.of(e);
                }
                synchronized (events) {
                    events.add(e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Optional.empty();
    }

    /** Forgets every event received so far (before a step whose events matter). */
    public void clearEvents() {
        synchronized (events) {
            events.clear();
            incoming.drainTo(events);
            events.clear();
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
