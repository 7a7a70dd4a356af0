# lab.mk: the incident lab, included by the top Makefile.
#   make lab              reproduce every bundle in testdata/bundles/ (root, ~8 min)
#   make lab-INCIDENT     reproduce one, e.g. make lab-fd-exhaustion
# Each incident runs in network namespaces it creates and deletes; see
# testdata/lab/README.md. Not part of CI: it needs root.

LAB_INCIDENTS := fd-exhaustion close-wait-leak healthcheck-starvation tw-bucket-overflow \
	healthy-busy-web healthy-idle accept-queue-overflow ephemeral-port-exhaustion \
	conntrack-full mixed syn-flood orphan-sockets tcp-memory-pressure file-max-reached
LAB_TIMEOUT ?= 300

.PHONY: lab $(addprefix lab-,$(LAB_INCIDENTS))

lab: $(addprefix lab-,$(LAB_INCIDENTS))

$(addprefix lab-,$(LAB_INCIDENTS)): lab-%:
	timeout --kill-after=10 $(LAB_TIMEOUT) bash testdata/lab/incidents/$*.sh
