# Resolves the AUTO/ON/OFF options for the optional parts (CUDA, MPI, UCX) into
# DAG_HAVE_CUDA / DAG_HAVE_MPI / DAG_HAVE_UCX. ON fails the configure when missing.

function(dag_resolve_option opt found have_var)
  if(${opt} STREQUAL "OFF")
    set(${have_var} OFF PARENT_SCOPE)
  elseif(${found})
    set(${have_var} ON PARENT_SCOPE)
  elseif(${opt} STREQUAL "ON")
    message(FATAL_ERROR "${opt} is ON but its dependency was not found")
  else()
    set(${have_var} OFF PARENT_SCOPE)
  endif()
endfunction()

set(_cuda_found OFF)
if(NOT DAG_WITH_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      set(_cuda_found ON)
    endif()
  endif()
endif()
dag_resolve_option(DAG_WITH_CUDA _cuda_found DAG_HAVE_CUDA)
if(DAG_HAVE_CUDA)
  enable_language(CUDA)
endif()

set(_mpi_found OFF)
if(NOT DAG_WITH_MPI STREQUAL "OFF")
  find_package(MPI QUIET COMPONENTS C)
  if(MPI_C_FOUND)
    set(_mpi_found ON)
  endif()
endif()
dag_resolve_option(DAG_WITH_MPI _mpi_found DAG_HAVE_MPI)

set(_ucx_found OFF)
if(NOT DAG_WITH_UCX STREQUAL "OFF")
  pkg_check_modules(UCX QUIET IMPORTED_TARGET ucx)
  if(UCX_FOUND)
    set(_ucx_found ON)
  endif()
endif()
dag_resolve_option(DAG_WITH_UCX _ucx_found DAG_HAVE_UCX)

message(STATUS "dagcc: CUDA=${DAG_HAVE_CUDA} MPI=${DAG_HAVE_MPI} UCX=${DAG_HAVE_UCX}")

# For folders that mix C and CUDA sources: nvcc takes host-compiler warnings only through
# -Xcompiler (its own -Werror needs an argument), so rewrite the folder's inherited
# options for CUDA sources.
macro(dag_cuda_safe_options)
  get_directory_property(_dag_opts COMPILE_OPTIONS)
  set(_dag_cuda_safe "")
  foreach(_o ${_dag_opts})
    list(APPEND _dag_cuda_safe "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${_o}>"
                               "$<$<NOT:$<COMPILE_LANGUAGE:CUDA>>:${_o}>")
  endforeach()
  set_directory_properties(PROPERTIES COMPILE_OPTIONS "${_dag_cuda_safe}")
endmacro()
# sm_90: the H100 and H200 of the GPU machines
set(DAG_TEST_CUDA_ARCHS 90 CACHE STRING "CUDA architectures of the GPU tests and benchmarks")
