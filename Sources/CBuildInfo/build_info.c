#include "CBuildInfo.h"

#ifndef TPROXY_DNS_VERSION
#error "TPROXY_DNS_VERSION is defined by Package.swift"
#endif
#ifndef TPROXY_DNS_REVISION
#error "TPROXY_DNS_REVISION is defined by Package.swift"
#endif

const char *CBuildInfo_version(void) { return TPROXY_DNS_VERSION; }
const char *CBuildInfo_revision(void) { return TPROXY_DNS_REVISION; }
