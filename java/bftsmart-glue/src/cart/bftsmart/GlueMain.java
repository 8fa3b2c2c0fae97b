package cart.bftsmart;

import bftsmart.tom.AsynchServiceProxy;
import bftsmart.tom.ServiceReplica;
import bftsmart.tom.server.defaultservices.DefaultReplier;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Entry point of the CART glue JVM, started and supervised by src/consensus/bftsmart/.
 *
 * <pre>
 * replica --id N --config DIR --port P --client-id C [--peers h:p,...] [--peer-wait-ms MS] [--nudge-after-ms MS]
 *     a BFT-SMaRt ServiceReplica whose recoverable forwards to CART, plus the relay client
 * client --config DIR --port P --client-id C --threads K
 *     BFT-SMaRt's own client (baseline for benchmarks)
 * </pre>
 * The link token is read from the environment variable CART_GLUE_TOKEN. READY is sent once the
 * replica is up to date and its relay client connected (replica mode) or the client proxies are
 * constructed (client mode).
 *
 * Every request ordered through BFT-SMaRt carries a 1-byte tag added by the glue: 0 = a CART
 * request (the rest of the bytes), 1 = a glue no-op. GlueRecoverable strips the tag and drops
 * no-ops (and untagged requests from foreign clients) before CART sees the batch.
 */
public final class GlueMain {
    private GlueMain() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) usage("missing mode");
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) usage("bad option " + argv[i]);
            a.put(argv[i].substring(2), argv[i + 1]);
        }
        String token = System.getenv("CART_GLUE_TOKEN");
        if (token == null) usage("CART_GLUE_TOKEN not set");
        String config = need(a, "config");
        GlueChannel channel = new GlueChannel(Integer.parseInt(need(a, "port")), token);
        int clientId = Integer.parseInt(need(a, "client-id"));
        if (argv[0].equals("replica")) {
            int id = Integer.parseInt(need(a, "id"));
            Handler handler = new Handler();
            channel.start(handler);
            GlueRecoverable service = new GlueRecoverable(channel);
            // ServiceReplica's constructor returns only once the replica has the current state. A
            // replica (re)starting into an idle cluster whose last decision is exactly a checkpoint
            // never gets it (BFT-SMaRt serves no state without a decision proof after the
            // checkpoint), so while the constructor hangs the relay client nudges the cluster with
            // a no-op request (dropped before CART sees it) until one more consensus is decided.
            CountDownLatch replicaUp = new CountDownLatch(1);
            Thread replica = new Thread(() -> {
                try {
                    new ServiceReplica(id, config, service, service, null, new DefaultReplier(), null);
                    replicaUp.countDown();
                } catch (Throwable t) {
                    GlueChannel.fatal("BFT-SMaRt replica failed to start: " + t);
                }
            }, "cart-glue-replica-start");
            replica.setDaemon(true);
            replica.start();
            waitForPeers(a.getOrDefault("peers", ""), Long.parseLong(a.getOrDefault("peer-wait-ms", "30000")));
            RelayClient relay = new RelayClient(channel, new AsynchServiceProxy(clientId, config));
            long nudgeAfter = Long.parseLong(a.getOrDefault("nudge-after-ms", "15000"));
            if (!replicaUp.await(nudgeAfter, TimeUnit.MILLISECONDS)) {
                do {
                    System.err.println("CART-GLUE: replica still retrieving state after " + nudgeAfter + " ms; ordering a no-op");
                    relay.nudge();
                } while (!replicaUp.await(5, TimeUnit.SECONDS));
            }
            int declared = service.getStateManager().getLastCID();
            if (declared >= 0 && service.coveredConsensus() < 0) {
                // BFT-SMaRt's "Replica state is up to date" without a state transfer (see
                // GlueRecoverable.appExecuteBatch): start over rather than serve an empty state.
                GlueChannel.retry("BFT-SMaRt declared the replica up to date at consensus " + declared + " without transferring state");
            }
            handler.target = relay;
            channel.send(new GlueChannel.Frame(GlueChannel.READY).i32(id));
        } else if (argv[0].equals("client")) {
            int threads = Integer.parseInt(need(a, "threads"));
            Handler handler = new Handler();
            channel.start(handler);
            waitForPeers(a.getOrDefault("peers", ""), Long.parseLong(a.getOrDefault("peer-wait-ms", "30000")));
            handler.target = new NativeClient(channel, config, clientId, threads);
            channel.send(new GlueChannel.Frame(GlueChannel.READY).i32(threads));
        } else {
            usage("unknown mode " + argv[0]);
        }
        Thread.currentThread().join(); // the reader thread and BFT-SMaRt's threads do the work
    }

    /** Forwards to the mode's handler once it exists; earlier SUBMIT/INVOKE frames fail. */
    private static final class Handler implements GlueChannel.Handler {
        volatile GlueChannel.Handler target;

        @Override
        public void onFrame(int type, DataInputStream body) throws IOException {
            GlueChannel.Handler t = target;
            if (t != null) t.onFrame(type, body);
            else GlueChannel.fatal("frame type " + type + " before READY");
        }
    }

    /**
     * The client proxy connects to every replica once and retries a failed connection only every
     * 10 s, so wait (bounded) until the replicas' client ports accept connections.
     */
    private static void waitForPeers(String peers, long waitMs) throws InterruptedException {
        if (peers.isEmpty()) return;
        long deadline = System.currentTimeMillis() + waitMs;
        for (String peer : peers.split(",")) {
            int colon = peer.lastIndexOf(':');
            InetSocketAddress addr = new InetSocketAddress(peer.substring(0, colon), Integer.parseInt(peer.substring(colon + 1)));
            while (System.currentTimeMillis() < deadline) {
                try (Socket s = new Socket()) {
                    s.connect(addr, 500);
                    break;
                } catch (IOException e) {
                    Thread.sleep(200);
                }
            }
        }
    }

    private static String need(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) usage("missing --" + key);
        return v;
    }

    private static void usage(String why) {
        System.err.println("CART-GLUE FATAL: " + why);
        System.exit(2);
    }
}
