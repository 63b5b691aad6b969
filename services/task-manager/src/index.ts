// placeholder entry; replaced by the package's real exports
export {};
