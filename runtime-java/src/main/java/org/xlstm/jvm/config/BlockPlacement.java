package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the sLSTM blocks sit. Three ways to say it, all resolved to an explicit, ascending list of block indices:
 * <ul>
 *   <li>{@link #ratio(int, int, int)}: the paper's xLSTM[m:s] notation. The stack is cut into groups of m+s
 *       consecutive blocks (the block count must be a multiple of m+s); inside each group of size g the s sLSTM
 *       blocks take positions p_j = ceil((j + ½)·g/s) − 1 for j = 0..s−1, i.e. the middle of s equal slices,
 *       rounded down. xLSTM[7:1] over 8 blocks gives "mmms mmmm"; [3:1] over 4 gives "msmm"; [1:1] gives "sm";
 *       [1:2] gives "sms"; [0:1] makes every block sLSTM; [1:0] none.</li>
 *   <li>{@link #pattern(String)}: one letter per block, 'm' or 's'; spaces, '_' and '|' are ignored.</li>
 *   <li>an explicit list ({@code slstm_at}).</li>
 * </ul>
 */
public final class BlockPlacement {
    private BlockPlacement() {}

    /** sLSTM positions for xLSTM[mlstm:slstm] over {@code numBlocks} blocks. */
    public static List<Integer> ratio(int mlstm, int slstm, int numBlocks) {
        if (mlstm < 0 || slstm < 0)
            throw new ConfigException("ratio", "ratio parts must be non-negative; got " + mlstm + ":" + slstm);
        if (mlstm + slstm == 0)
            throw new ConfigException("ratio", "ratio 0:0 has no blocks; use e.g. 1:0 (mLSTM only) or 0:1 (sLSTM only)");
        int g = mlstm + slstm;
        if (numBlocks <= 0)
            throw new ConfigException("num_blocks", "must be positive to place ratio " + mlstm + ":" + slstm + "; got " + numBlocks);
        if (numBlocks % g != 0)
            throw new ConfigException("ratio", "ratio " + mlstm + ":" + slstm + " needs a block count that is a multiple of "
                    + g + "; got num_blocks = " + numBlocks + " (nearest: " + Math.max(g, numBlocks / g * g) + " or "
                    + (numBlocks / g + 1) * g + ")");
        List<Integer> out = new ArrayList<>();
        for (int group = 0; group < numBlocks / g; group++) {
            for (int j = 0; j < slstm; j++) {
                int p = (int) Math.ceil((j + 0.5) * g / slstm) - 1;
                out.add(group * g + p);
            }
        }
        return List.copyOf(out);
    }

    /** sLSTM positions of a pattern such as "mmms mmmm"; its letter count is the block count. */
    public static List<Integer> pattern(String pattern) {
        List<Integer> out = new ArrayList<>();
        int idx = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = Character.toLowerCase(pattern.charAt(i));
            if (c == ' ' || c == '_' || c == '|' || c == ',') continue;
            if (c == 's') out.add(idx);
            else if (c != 'm')
                throw new ConfigException("pattern", "unknown block letter '" + pattern.charAt(i) + "' at character "
                        + (i + 1) + " of \"" + pattern + "\"; use 'm' (mLSTM) or 's' (sLSTM)");
            idx++;
        }
        if (idx == 0) throw new ConfigException("pattern", "pattern \"" + pattern + "\" names no blocks");
        return List.copyOf(out);
    }

    /** Number of blocks a pattern names. */
    public static int patternLength(String pattern) {
        int n = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = Character.toLowerCase(pattern.charAt(i));
            if (c == 'm' || c == 's') n++;
        }
        return n;
    }

    /** Draws a block map as letters in groups of {@code groupSize}, e.g. "mmms mmmm". */
    public static String draw(List<BlockKind> map, int groupSize) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < map.size(); i++) {
            if (i > 0 && groupSize > 0 && i % groupSize == 0) sb.append(' ');
            sb.append(map.get(i).letter());
        }
        return sb.toString();
    }
}
