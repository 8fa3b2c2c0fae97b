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

    @Override
    public byte[][] appExecuteBatch(byte[][] commands, MessageContext[] ctxs, boolean fromConsensus) {
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
            f.i64(ctxs[i].getConsensusId()).i32(ctxs[i].getRegency()).i32(ctxs[i].getLeader()).i32(j - i);
            for (int k = i; k < j; k++) f.lenBytes(commands[k]);
            i = j;
        }
        DataInputStream answer = channel.call(callId, f);
        try {
            int n = answer.readInt();
            if (n != commands.length) GlueChannel.fatal("CART returned " + n + " results for " + commands.length + " requests");
            byte[][] results = new byte[n][];
            for (int k = 0; k < n; k++) results[k] = GlueChannel.lenBytes(answer);
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
