// layer local
