#!/usr/bin/env bash
# Rebuilds the bundled demo cohort from scratch (deterministic: same files every time).
#   bash resources/demo/build.sh        (from the repository root, with kubecall installed)
# Reference: the real 12,356 bp chr22 piece `q` (resources/na12878/q.fa) followed by two
# random contigs, one named with ':' and '*' as HLA alt contigs are in GRCh38.
# Samples: four simulated (S01-S04, BAM, truth in truth.vcf.gz) plus the real NA12878 reads,
# whose header is rewritten to this reference and sample name and stored as CRAM.
set -euo pipefail
out=resources/demo
na12878=resources/na12878/NA12878.chr22.tiny.bam
rm -rf "$out/cohort"
kubecall simulate --samples 4 --length 40000 --depth 20 --seed 2026 --contigs 2 \
    --contig-names 'syn1,HLA-S*01:01' --include-fasta resources/na12878/q.fa "$out/cohort"
mv "$out"/cohort/* "$out"/ && rmdir "$out/cohort"
simulated=$(tail -n +2 "$out/samples.tsv" | cut -f1)
rm "$out/samples.tsv"

# NA12878: same reads, header @SQ lines from the demo reference, read group SM:NA12878.
header=$(mktemp)
{
    printf '@HD\tVN:1.6\tSO:coordinate\n'
    awk -F'\t' '{printf "@SQ\tSN:%s\tLN:%s\n", $1, $2}' "$out/ref.fa.fai"
    samtools view -H "$na12878" | grep '^@RG' | sed 's/\tSM:1\b/\tSM:NA12878/'
    samtools view -H "$na12878" | grep '^@PG' | grep -v 'PN:samtools'
} > "$header"
samtools reheader --no-PG "$header" "$na12878" \
    | samtools view --no-PG -C -T "$out/ref.fa" -o "$out/NA12878.cram" -
# Drop the UR: tags the encoder adds (this machine's absolute path); M5 identifies each contig.
samtools view -H "$out/NA12878.cram" | sed 's/\tUR:[^\t]*//' > "$header"
samtools reheader --no-PG -i "$header" "$out/NA12878.cram"
samtools index "$out/NA12878.cram"
rm "$header"

{
    printf '# The demo cohort: four simulated samples and real NA12878 reads (resources/demo).\n'
    printf '# Paths are relative to this sheet'"'"'s directory.\n'
    printf 'sample\talignment\tsource\n'
    for s in $simulated; do printf '%s\t../resources/demo/%s.bam\tsimulated\n' "$s" "$s"; done
    printf 'NA12878\t../resources/demo/NA12878.cram\t1000 Genomes / Platinum Genomes (real reads)\n'
} > config/samples.tsv
