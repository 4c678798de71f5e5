# clipgan: what does a CLIP-guided GAN latent search think a prompt looks like?
#
#   datasets -> generators (trained or imported) -> latent search per (generator, prompt)
#            -> judge (scene classifier) -> classified images -> table -> bias -> report
#                                                                  table -> audit page (a person labels a sample)
#                                                  with its labels: bias -> audit-corrected findings -> report
# With replicates: N > 1, everything trained and searched runs once per replicate (results/replicates/r1 ...);
#                  the replicates' bias tables -> pooled findings -> the pooled report
#
# The full study:  snakemake --cores 8 --resources gpu=1
# The demo study:  snakemake --cores 2 --directory demo


configfile: "config.yaml"


# the description on the front page of `snakemake --report report.html`
report: "rules/captions/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    dataset=_alternatives(DATASETS),
    generator=_alternatives(GENERATORS),
    prompt=_alternatives(SEARCHED),
    replicate=_alternatives(REPLICATE_IDS),


include: "rules/data.smk"
include: "rules/clip.smk"
include: "rules/generators.smk"
include: "rules/search.smk"
include: "rules/judge.smk"
include: "rules/report.smk"
include: "rules/audit.smk"


if REPLICATES > 1:

    include: "rules/replicates.smk"



rule all:
    input:
        get_final_output(),
    default_target: True
