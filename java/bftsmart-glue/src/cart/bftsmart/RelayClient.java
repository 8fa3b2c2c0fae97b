package cart.bftsmart;

import bftsmart.communication.client.ReplyListener;
import bftsmart.tom.AsynchServiceProxy;
import bftsmart.tom.RequestContext;
import bftsmart.tom.core.messages.TOMMessage;
import bftsmart.tom.core.messages.TOMMessageType;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CART's BFT client handler on BFT-SMaRt: relays requests from the CART replica to the
 * replicas through one {@link AsynchServiceProxy}, many outstanding at once.
 *
 * AsynchServiceProxy does not vote, so each request's listener counts replies itself: the
 * request is reported ordered (SUBMITTED status 0) once {@code replyQuorum} distinct replicas
 * (f+1 when read-only requests are disabled: at least one correct replica executed it) sent the
 * same result bytes. The result bytes themselves are not forwarded: CART gets them from its own
 * replica. A send failure is reported with status 1 and a message.
 */
final class RelayClient implements GlueChannel.Handler {
    private final GlueChannel channel;
    private final AsynchServiceProxy proxy;
    /** CART submit id -> BFT-SMaRt operation id, for CANCEL. */
    private final Map<Integer, Integer> operations = new ConcurrentHashMap<>();

    RelayClient(GlueChannel channel, AsynchServiceProxy proxy) {
        this.channel = channel;
        this.proxy = proxy;
    }

    @Override
    public void onFrame(int type, DataInputStream body) throws IOException {
        if (type == GlueChannel.SUBMIT) {
            int submitId = body.readInt();
            submit(submitId, GlueChannel.rest(body));
        } else if (type == GlueChannel.CANCEL) {
            Integer op = operations.remove(body.readInt());
            if (op != null) proxy.cleanAsynchRequest(op);
        } else {
            GlueChannel.fatal("unexpected frame type " + type + " in replica mode");
        }
    }

    /** Tag of a CART request (see GlueMain); GlueRecoverable strips it. */
    static final byte TAG_CART = 0;
    /** Tag of a glue no-op, ordered only to advance the cluster; never reaches CART. */
    static final byte TAG_NOOP = 1;

    /** Prefix {@code request} with {@code tag}. */
    static byte[] tagged(byte tag, byte[] request) {
        byte[] out = new byte[request.length + 1];
        out[0] = tag;
        System.arraycopy(request, 0, out, 1, request.length);
        return out;
    }

    /** Order a no-op (see GlueMain); its replies are ignored and its context cleaned up. */
    void nudge() {
        try {
            proxy.invokeAsynchRequest(new byte[] {TAG_NOOP}, new ReplyListener() {
                @Override
                public void reset() {}

                @Override
                public void replyReceived(RequestContext context, TOMMessage reply) {
                    proxy.cleanAsynchRequest(context.getOperationId());
                }
            }, TOMMessageType.ORDERED_REQUEST);
        } catch (RuntimeException e) {
            System.err.println("CART-GLUE: no-op not sent: " + e.getMessage());
        }
    }

    private void submit(int submitId, byte[] request) {
        try {
            Votes votes = new Votes(submitId);
            int op = proxy.invokeAsynchRequest(tagged(TAG_CART, request), votes, TOMMessageType.ORDERED_REQUEST);
            operations.put(submitId, op);
            if (votes.finished) operations.remove(submitId); // replies raced ahead of put
        } catch (RuntimeException e) {
            done(submitId, 1, "BFT-SMaRt refused the request: " + e.getMessage());
        }
    }

    private void done(int submitId, int status, String message) {
        channel.send(new GlueChannel.Frame(GlueChannel.SUBMITTED).i32(submitId).u8(status).bytes(message.getBytes(StandardCharsets.UTF_8)));
    }

    /** Counts matching replies of one request (called under the proxy's receive lock). */
    private final class Votes implements ReplyListener {
        private final int submitId;
        private final Map<ByteBuffer, Set<Integer>> bySender = new HashMap<>();
        private volatile boolean finished;

        Votes(int submitId) {
            this.submitId = submitId;
        }

        @Override
        public void reset() {
            bySender.clear();
        }

        @Override
        public void replyReceived(RequestContext context, TOMMessage reply) {
            if (finished) return;
            Set<Integer> senders = bySender.computeIfAbsent(ByteBuffer.wrap(reply.getContent()), k -> new HashSet<>());
            senders.add(reply.getSender());
            if (senders.size() >= proxy.getViewManager().getReplyQuorum()) {
                finished = true;
                Integer op = operations.remove(submitId);
                proxy.cleanAsynchRequest(op != null ? op : context.getOperationId());
                done(submitId, 0, "");
            }
        }
    }
}
