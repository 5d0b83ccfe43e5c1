// layer aws
