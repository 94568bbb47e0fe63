/* A program that is not Go: its core must be refused clearly by rootpath. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
	char *buffer = malloc(4096);
	snprintf(buffer, 4096, "not a Go heap");
	puts(buffer);
	volatile int *nowhere = NULL;
	return *nowhere;
}
