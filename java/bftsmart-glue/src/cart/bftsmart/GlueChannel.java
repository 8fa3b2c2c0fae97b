package cart.bftsmart;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The glue's end of the local link to the co-located CART replica (TypeScript side).
 *
 * Framing (documented in docs/bftsmart.md and src/consensus/bftsmart/protocol.ts): every frame
 * is a 4-byte unsigned big-endian payload length, then the payload; the payload's first byte is
 * the message type. Integers are big-endian. The TypeScript side listens on 127.0.0.1; this
 * class connects and first sends HELLO with the token it got in the environment.
 *
 * Threading: one reader thread dispatches incoming frames; {@link #send} is thread-safe;
 * {@link #call} blocks the calling thread until the matching answer arrives. If the link
 * breaks the JVM halts (the supervisor restarts it and BFT-SMaRt's state transfer catches up).
 */
final class GlueChannel {
    // Java -> TypeScript
    static final int HELLO = 0x01, READY = 0x02, EXECUTE = 0x03, SNAPSHOT = 0x04, RESTORE = 0x05,
            SUBMITTED = 0x06, INVOKED = 0x07;
    // TypeScript -> Java
    static final int RESULTS = 0x81, SNAPSHOT_DATA = 0x82, RESTORED = 0x83, SUBMIT = 0x84,
            CANCEL = 0x85, INVOKE = 0x86;

    /** Largest frame accepted from the TypeScript side (bytes). */
    static final int MAX_FRAME = 256 * 1024 * 1024;

    /** Handles frames that are not answers to {@link #call}. */
    interface Handler {
        void onFrame(int type, DataInputStream body) throws IOException;
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final Map<Integer, CompletableFuture<DataInputStream>> calls = new ConcurrentHashMap<>();
    private final AtomicInteger nextCall = new AtomicInteger(1);
    private volatile Handler handler;

    GlueChannel(int port, String token) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        Frame hello = new Frame(HELLO);
        hello.bytes(token.getBytes(StandardCharsets.UTF_8));
        send(hello);
    }

    /** Start the reader thread; frames other than call answers go to {@code h}. */
    void start(Handler h) {
        this.handler = h;
        Thread t = new Thread(this::readLoop, "cart-glue-reader");
        t.setDaemon(true);
        t.start();
    }

    /** Send one frame (thread-safe; blocks while the socket's send buffer is full). */
    void send(Frame f) {
        byte[] payload = f.toByteArray();
        synchronized (out) {
            try {
                out.writeInt(payload.length);
                out.write(payload);
                out.flush();
            } catch (IOException e) {
                fatal("write to CART failed: " + e);
            }
        }
    }

    /** A new call id for a request/answer pair. */
    int newCallId() {
        return nextCall.getAndIncrement();
    }

    /**
     * Send {@code f} (whose first field must be {@code callId}) and wait for the answer with
     * the same call id. Returns the answer body positioned after the call id.
     */
    DataInputStream call(int callId, Frame f) {
        CompletableFuture<DataInputStream> future = new CompletableFuture<>();
        calls.put(callId, future);
        send(f);
        try {
            return future.get();
        } catch (Exception e) {
            fatal("call " + callId + " to CART failed: " + e);
            return null; // unreachable
        }
    }

    private void readLoop() {
        try {
            for (;;) {
                int len = in.readInt();
                if (len < 1 || len > MAX_FRAME) fatal("bad frame length " + len + " from CART");
                byte[] payload = new byte[len];
                in.readFully(payload);
                DataInputStream body = new DataInputStream(new java.io.ByteArrayInputStream(payload, 1, len - 1));
                int type = payload[0] & 0xff;
                if (type == RESULTS || type == SNAPSHOT_DATA || type == RESTORED) {
                    int callId = body.readInt();
                    CompletableFuture<DataInputStream> f = calls.remove(callId);
                    if (f == null) fatal("answer to unknown call " + callId);
                    else f.complete(body);
                } else {
                    handler.onFrame(type, body);
                }
            }
        } catch (EOFException e) {
            fatal("CART closed the glue link");
        } catch (IOException e) {
            fatal("glue link failed: " + e);
        }
    }

    /** Exit code asking the supervisor to restart the JVM even before READY (a transient failure). */
    static final int RETRY_EXIT_CODE = 75;

    /** Report on stderr and halt with {@link #RETRY_EXIT_CODE}: restart and try again. */
    static void retry(String message) {
        System.err.println("CART-GLUE RETRY: " + message);
        System.err.flush();
        Runtime.getRuntime().halt(RETRY_EXIT_CODE);
    }

    /** Report on stderr (surfaced by the supervisor) and halt the JVM. */
    static void fatal(String message) {
        System.err.println("CART-GLUE FATAL: " + message);
        System.err.flush();
        Runtime.getRuntime().halt(3);
    }

    /** Builder of one outgoing frame: type byte, then fields. */
    static final class Frame {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream(64);
        private final DataOutputStream data = new DataOutputStream(buf);

        Frame(int type) {
            buf.write(type);
        }

        Frame i32(int v) {
            try { data.writeInt(v); } catch (IOException e) { throw new IllegalStateException(e); }
            return this;
        }

        Frame i64(long v) {
            try { data.writeLong(v); } catch (IOException e) { throw new IllegalStateException(e); }
            return this;
        }

        Frame u8(int v) {
            buf.write(v);
            return this;
        }

        /** Length-prefixed bytes (u32 length, then the bytes). */
        Frame lenBytes(byte[] b) {
            i32(b.length);
            buf.write(b, 0, b.length);
            return this;
        }

        /** Raw bytes to the end of the frame. */
        Frame bytes(byte[] b) {
            buf.write(b, 0, b.length);
            return this;
        }

        byte[] toByteArray() {
            return buf.toByteArray();
        }
    }

    /** Read the rest of a frame body. */
    static byte[] rest(DataInputStream body) throws IOException {
        return body.readAllBytes();
    }

    /** Read a length-prefixed byte field. */
    static byte[] lenBytes(DataInputStream body) throws IOException {
        int n = body.readInt();
        if (n < 0 || n > body.available()) throw new IOException("bad field length " + n);
        byte[] b = new byte[n];
        body.readFully(b);
        return b;
    }
}
