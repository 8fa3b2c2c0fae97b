package cart.bftsmart;

import bftsmart.tom.MessageContext;
import bftsmart.tom.server.defaultservices.DefaultRecoverable;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * BFT-SMaRt's recoverable service, forwarding everything to the co-located CART replica.
 *
 * BFT-SMaRt's delivery thread may hand several consensus instances to one appExecuteBatch
 * call; they are split by consensus id into one ordered batch each (Bessani et al., DSN 2014,
 * §4: one consensus instance orders one batch) and sent in one EXECUTE frame. The call blocks
 * until CART returns one result per request; these results become BFT-SMaRt's replies.
 * Checkpoints ({@link #getSnapshot}) and state transfer ({@link #installSnapshot}, then replay
 * of the logged batches through appExecuteBatch) are forwarded the same way. The snapshot bytes
 * are opaque here: the TypeScript side prefixes them with the sequence they stand for.
 */
final class GlueRecoverable extends DefaultRecoverable {
    private final GlueChannel channel;

    GlueRecoverable(GlueChannel channel) {
        this.channel = channel;
    }

    private static final byte[] EMPTY = new byte[0];

    /**
     * Highest consensus id this replica's state covers: executed (appExecuteBatch), blank
     * (noOp) or installed by state transfer (setState). -1: none.
     */
    private volatile int covered = -1;

    /** See {@link #covered}. */
    int coveredConsensus() {
        return covered;
    }

    @Override
    public int setState(bftsmart.statemanagement.ApplicationState state) {
        int last = super.setState(state);
        if (last > covered) covered = last;
        return last;
    }

    @Override
    public void noOp(int cid, byte[][] operations, MessageContext[] ctxs) {
        super.noOp(cid, operations, ctxs);
        if (cid > covered) covered = cid;
    }

    /** A CART request (tag 0, see GlueMain) without its tag, or null for a no-op or foreign request. */
    private static byte[] cartRequest(byte[] command) {
        if (command == null || command.length == 0 || command[0] != RelayClient.TAG_CART) return null;
        return java.util.Arrays.copyOfRange(command, 1, command.length);
    }

    @Override
    public byte[][] appExecuteBatch(byte[][] commands, MessageContext[] ctxs, boolean fromConsensus) {
        if (fromConsensus && ctxs.length > 0 && ctxs[0].getConsensusId() > covered + 1) {
            // Decisions were skipped without a state transfer (BFT-SMaRt can declare a restarted
            // replica up to date when the cluster advanced by exactly one decision while it was
            // retrieving state). Executing on would diverge: restart and retrieve the state again.
            GlueChannel.retry("consensus " + ctxs[0].getConsensusId() + " delivered but the state covers only up to " + covered);
        }
        // Strip tags; no-ops and untagged requests get an empty reply and never reach CART (the
        // same decision at every replica, so batches stay identical).
        byte[][] cart = new byte[commands.length][];
        int forwarded = 0;
        for (int k = 0; k < commands.length; k++) {
            cart[k] = cartRequest(commands[k]);
            if (cart[k] != null) forwarded++;
        }
        int batches = 0;
        for (int i = 0; i < ctxs.length; i++) {
            if (i == 0 || ctxs[i].getConsensusId() != ctxs[i - 1].getConsensusId()) batches++;
        }
        int callId = channel.newCallId();
        GlueChannel.Frame f = new GlueChannel.Frame(GlueChannel.EXECUTE).i32(callId).u8(fromConsensus ? 1 : 0).i32(batches);
        int i = 0;
        while (i < commands.length) {
            int j = i;
            while (j < commands.length && ctxs[j].getConsensusId() == ctxs[i].getConsensusId()) j++;
            int n = 0;
            for (int k = i; k < j; k++) if (cart[k] != null) n++;
            f.i64(ctxs[i].getConsensusId()).i32(ctxs[i].getRegency()).i32(ctxs[i].getLeader()).i32(n);
            for (int k = i; k < j; k++) if (cart[k] != null) f.lenBytes(cart[k]);
            i = j;
        }
        DataInputStream answer = channel.call(callId, f);
        try {
            int n = answer.readInt();
            if (n != forwarded) GlueChannel.fatal("CART returned " + n + " results for " + forwarded + " requests");
            byte[][] results = new byte[commands.length][];
            for (int k = 0; k < commands.length; k++) results[k] = cart[k] != null ? GlueChannel.lenBytes(answer) : EMPTY;
            int last = ctxs[ctxs.length - 1].getConsensusId();
            if (last > covered) covered = last;
            return results;
        } catch (IOException e) {
            GlueChannel.fatal("malformed RESULTS frame: " + e);
            return null;
        }
    }

    @Override
    public byte[] appExecuteUnordered(byte[] command, MessageContext msgCtx) {
        // CART answers read-only requests itself (with their own quorum rule); nothing is
        // submitted unordered through the glue.
        return new byte[0];
    }

    @Override
    public byte[] getSnapshot() {
        int callId = channel.newCallId();
        DataInputStream answer = channel.call(callId, new GlueChannel.Frame(GlueChannel.SNAPSHOT).i32(callId));
        try {
            return GlueChannel.rest(answer);
        } catch (IOException e) {
            GlueChannel.fatal("malformed SNAPSHOT_DATA frame: " + e);
            return null;
        }
    }

    @Override
    public void installSnapshot(byte[] state) {
        int callId = channel.newCallId();
        DataInputStream answer = channel.call(callId, new GlueChannel.Frame(GlueChannel.RESTORE).i32(callId).bytes(state));
        try {
            int ok = answer.readUnsignedByte();
            if (ok != 1) {
                // State unknown: restart, and let state transfer try again (maybe from another replica).
                GlueChannel.fatal("CART rejected the transferred snapshot: " + new String(GlueChannel.rest(answer), java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            GlueChannel.fatal("malformed RESTORED frame: " + e);
        }
    }
}
