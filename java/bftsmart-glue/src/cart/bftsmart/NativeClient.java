package cart.bftsmart;

import bftsmart.tom.ServiceProxy;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Baseline for benchmarks: BFT-SMaRt's own client. {@code threads} worker threads each own one
 * {@link ServiceProxy} (client ids {@code baseId .. baseId+threads-1}), which sends a request to
 * all replicas and votes on the reply quorum (f+1 matching replies) itself. INVOKE frames are
 * queued; each worker takes one, calls invokeOrdered (blocking) and answers INVOKED with status 0
 * and the voted result, or status 1 and a message (timeout: invokeOrdered returned null).
 */
final class NativeClient implements GlueChannel.Handler {
    private static final class Invocation {
        final int id;
        final byte[] request;

        Invocation(int id, byte[] request) {
            this.id = id;
            this.request = request;
        }
    }

    private final GlueChannel channel;
    private final LinkedBlockingQueue<Invocation> queue = new LinkedBlockingQueue<>();

    NativeClient(GlueChannel channel, String configDir, int baseId, int threads) {
        this.channel = channel;
        for (int i = 0; i < threads; i++) {
            ServiceProxy proxy = new ServiceProxy(baseId + i, configDir);
            Thread t = new Thread(() -> work(proxy), "cart-native-client-" + i);
            t.setDaemon(true);
            t.start();
        }
    }

    @Override
    public void onFrame(int type, DataInputStream body) throws IOException {
        if (type != GlueChannel.INVOKE) GlueChannel.fatal("unexpected frame type " + type + " in client mode");
        int id = body.readInt();
        queue.add(new Invocation(id, GlueChannel.rest(body)));
    }

    private void work(ServiceProxy proxy) {
        for (;;) {
            Invocation inv;
            try {
                inv = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            GlueChannel.Frame f = new GlueChannel.Frame(GlueChannel.INVOKED).i32(inv.id);
            try {
                byte[] result = proxy.invokeOrdered(RelayClient.tagged(RelayClient.TAG_CART, inv.request));
                if (result == null) f.u8(1).bytes("no reply quorum before BFT-SMaRt's invoke timeout".getBytes(StandardCharsets.UTF_8));
                else f.u8(0).bytes(result);
            } catch (RuntimeException e) {
                f.u8(1).bytes(String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8));
            }
            channel.send(f);
        }
    }
}
