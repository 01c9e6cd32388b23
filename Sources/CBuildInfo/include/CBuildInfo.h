// What `tproxy-dns --version` prints, fixed at build time: Package.swift defines the two
// macros for this target only, so a new revision recompiles one C file and relinks.
#ifndef CBUILDINFO_H
#define CBUILDINFO_H

const char *CBuildInfo_version(void);
const char *CBuildInfo_revision(void);

#endif
