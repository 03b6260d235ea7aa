cask "xquartz" do
  version "2.8.5"
  sha256 "cc5d5e8d5e7a2d6c5c7d9e0a3d1f2b4c6e8a0b2d4f6a8c0e2a4c6e8a0b2d4f6a"
  name "XQuartz"
end
