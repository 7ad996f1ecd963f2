#include "config.h"
#include "shale.h"

SHALE_EXPORT const char *shale_version(void)
{
	return PACKAGE_VERSION;
}
