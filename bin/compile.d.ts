export declare function buildCache(root: string): string;
export declare function compiled(root: string): string | undefined;
