#include "base/threads.h"

#include <omp.h>

void openblas_set_num_threads(int n);

int mr_threads_set(int n)
{
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
    return n;
}

int mr_threads_get(void) { return omp_get_max_threads(); }
